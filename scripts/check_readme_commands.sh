#!/usr/bin/env bash
# Run the README's first command (set up + run) in a fresh clone, as a new user would: with no
# token it must run the offline demo and leave the laporan PDF and the rekap xlsx in ./out.
# With --tests, run the README's second command (set up + test) in that clone as well.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ -d "$repo/.git" ]; then
  git clone -q "$repo" "$work/clone"
else  # a plain checkout (CI may hand us one): copy the tracked tree without local state
  mkdir "$work/clone"
  (cd "$repo" && tar --exclude=.venv --exclude=data --exclude=out --exclude='*.egg-info' -cf - .) \
    | (cd "$work/clone" && tar -xf -)
fi
cd "$work/clone"

block() {  # the n-th ```sh block of the README
  awk -v n="$1" '/^```sh/{k++; on=(k==n); next} /^```/{on=0; next} on' README.md
}

run_cmd="$(block 1)"
echo "README command 1: $run_cmd"
env -u TELEGRAM_TOKEN -u WHATSAPP_TOKEN bash -c "$run_cmd" | tee demo.log
pdf=$(ls out/Laporan_Kinerja_*.pdf)
xlsx=$(ls out/Rekap_Kinerja_*.xlsx)
head -c 4 "$pdf" | grep -q '%PDF'
python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).testzip()" "$xlsx"
grep -q "Laporan_Kinerja_" demo.log
echo "OK: the demo wrote $pdf and $xlsx"

if [ "${1:-}" = "--tests" ]; then
  test_cmd="$(block 2)"
  echo "README command 2: $test_cmd"
  bash -c "$test_cmd"
fi
