#!/usr/bin/env bash
# Installs regsync for the nightly run on Debian or Ubuntu: the user, the folders, a commented
# regsync.toml, the binary and the systemd units (the crontab line is installed beside the
# documentation, for servers without systemd). Then prints what is left to do.
#
#   sudo cron/install.sh                      # onto this machine
#   DESTDIR=/tmp/root cron/install.sh         # into a staging root (packaging, tests)
#
# Settings (environment):
#   DESTDIR          a staging root; empty installs onto this machine
#   BIN              the binary to install (default: target/release/regsync)
#   REGSYNC_HOME     the working folder (default: /srv/regsync)
#   REGISTRAR_GROUP  the group of the registrar staff who drop files into the inbox
#                    (default: regsync-drop)
# With DESTDIR set, no user or group is created and no owner is changed: the script prints the
# commands to run on the target instead.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
DESTDIR="${DESTDIR:-}"
BIN="${BIN:-$here/../target/release/regsync}"
REGSYNC_HOME="${REGSYNC_HOME:-/srv/regsync}"
REGISTRAR_GROUP="${REGISTRAR_GROUP:-regsync-drop}"
user=regsync
root="${DESTDIR%/}"
home="$root$REGSYNC_HOME"
doc="$root/usr/local/share/doc/regsync"
units="$root/etc/systemd/system"

if [[ ! -x "$BIN" ]]; then
    echo "install.sh: no binary at \`$BIN\`; build it first (cargo build --release) or set BIN" >&2
    exit 2
fi
if [[ -z "$DESTDIR" && "$(id -u)" -ne 0 ]]; then
    echo "install.sh: run it as root (sudo), or set DESTDIR to install into a staging root" >&2
    exit 2
fi

# The user that runs regsync, and the group of the staff who drop files. regsync joins that
# group, so it can read what they drop and move it out of the inbox.
if [[ -z "$DESTDIR" ]]; then
    getent group "$REGISTRAR_GROUP" >/dev/null || groupadd --system "$REGISTRAR_GROUP"
    if ! getent passwd "$user" >/dev/null; then
        useradd --system --user-group --home-dir "$REGSYNC_HOME" --shell /usr/sbin/nologin "$user"
    fi
    usermod --append --groups "$REGISTRAR_GROUP" "$user"
fi

# Folders. The inbox is setgid and group-writable: what the staff drop belongs to their group
# whoever copies it, and regsync (a member) reads it. Everything else is regsync's alone.
install -d -m 0750 "$home"
install -d -m 0700 "$home/archive" "$home/rejected" "$home/reports" "$home/logs"
install -d -m 2770 "$home/inbox"
if [[ -z "$DESTDIR" ]]; then
    chown "$user:$user" "$home" "$home/archive" "$home/rejected" "$home/reports" "$home/logs"
    chown "$user:$REGISTRAR_GROUP" "$home/inbox"
    chmod 2770 "$home/inbox"
fi

install -D -m 0755 "$BIN" "$root/usr/local/bin/regsync"

# A commented configuration, never over one that is there.
if [[ ! -e "$home/regsync.toml" ]]; then
    install -m 0640 /dev/null "$home/regsync.toml"
    cat >"$home/regsync.toml" <<'TOML'
# regsync configuration (README.md, "Configuration"). Relative paths are resolved against this
# file's folder.

[paths]
store = "regsync.sqlite"     # the SQLite store; set up once with `regsync accounts import`
inbox = "inbox"              # registrar staff drop their exports here
archive = "archive"          # inputs that were applied
rejected = "rejected"        # inputs that were set aside, each with NAME.errors.txt
reports = "reports"          # reports/<night>-run<N>/: plan.json, report.html, letters/, ...
# group = "regsync-admin"    # a group that may read what regsync writes (owner only when absent)

[policy]
# The university's policy values (docs/rules.md); the defaults are shown.
# kumoi_domain = "st.kyoto-u.ac.jp"
# id_prefix = "a0"
# guard_share = 0.05          # mass-change guard: at most this share departed, stopped or converted
# snapshot_min_share = 0.5    # a full snapshot under this share of the previous one is a warning

[mail]
transport = "file"           # writes .eml files into `dir`; set "smtp" to send
dir = "mail-out"
from = "情報環境支援センター <support@example.ac.jp>"
# transport = "smtp"
# host = "smtp.example.ac.jp"
# port = 587
# tls = "starttls"
# username = "regsync"
# password_file = "/srv/regsync/smtp.pass"   # mode 0600, owned by regsync; never a password here

[inbox]
settle_secs = 120            # a file modified less than this long ago waits for the next night
TOML
    if [[ -z "$DESTDIR" ]]; then
        chown "root:$user" "$home/regsync.toml"
    fi
fi

install -D -m 0644 "$here/regsync.service" "$units/regsync.service"
install -D -m 0644 "$here/regsync.timer" "$units/regsync.timer"
install -D -m 0644 "$here/regsync.crontab" "$doc/regsync.crontab"
install -D -m 0644 "$here/README.md" "$doc/README.md"
if [[ -z "$DESTDIR" ]]; then
    systemctl daemon-reload
fi

cat <<DONE
regsync is installed${DESTDIR:+ into $DESTDIR}.
DONE
if [[ -n "$DESTDIR" ]]; then
    cat <<DONE
On the target, as root, create the user and groups and hand over the folders:
  groupadd --system $REGISTRAR_GROUP
  useradd --system --user-group --home-dir $REGSYNC_HOME --shell /usr/sbin/nologin $user
  usermod --append --groups $REGISTRAR_GROUP $user
  chown -R $user:$user $REGSYNC_HOME && chown root:$user $REGSYNC_HOME/regsync.toml
  chown $user:$REGISTRAR_GROUP $REGSYNC_HOME/inbox && chmod 2770 $REGSYNC_HOME/inbox
DONE
fi
cat <<DONE
What is left:
  1. Edit $REGSYNC_HOME/regsync.toml (mail, policy).
  2. Import the existing account directory once:
       sudo -u $user /usr/local/bin/regsync --config $REGSYNC_HOME/regsync.toml accounts import ACCOUNTS.csv
     (or \`init --empty\` for a university that really starts with none)
  3. Add the registrar staff to the group $REGISTRAR_GROUP, then start the nightly timer:
       systemctl enable --now regsync.timer
       systemctl list-timers regsync.timer
DONE
