#!/bin/sh
# Back up the Kinerja Bot SQLite database while the bot keeps running, and keep the last
# KEEP copies. Example crontab for user "kinerja" (crontab -e -u kinerja), every night 02.30:
#   30 2 * * * /opt/kinerja-bot/deploy/backup.sh >> /opt/kinerja-bot/data/backup.log 2>&1
# With PostgreSQL, `kinerja-bot cadangkan` refuses and prints the pg_dump command to use.
set -eu

APP_DIR="${APP_DIR:-/opt/kinerja-bot}"
BACKUP_DIR="${BACKUP_DIR:-/var/backups/kinerja-bot}"
KEEP="${KEEP:-14}"

cd "$APP_DIR"  # kinerja-bot reads DATABASE_URL from .env here, as the service does
umask 077     # backups hold personal data: readable by this user only
mkdir -p "$BACKUP_DIR"
stamp="$(date +%Y%m%d-%H%M%S)"
"$APP_DIR/.venv/bin/kinerja-bot" cadangkan "$BACKUP_DIR/kinerja-$stamp.db"

# Keep only the newest $KEEP backups.
ls -1t "$BACKUP_DIR"/kinerja-*.db 2>/dev/null | tail -n +"$((KEEP + 1))" | while read -r old; do
    rm -f -- "$old"
done
