"""The sample office (sukamaju.yaml), shipped as package data for the offline demo."""
