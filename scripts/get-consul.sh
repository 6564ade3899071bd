#!/usr/bin/env bash
# Install a real Consul binary to /usr/local/bin/consul, idempotently.
# Debian 12 has no consul package; Debian 11 (bullseye) has consul 1.8.7 (statically
# linked). Fetch it with apt from this machine's own mirror, with the suite changed
# to bullseye in a temporary sources file, and unpack the .deb without installing it.
set -euo pipefail
TARGET="${WAKE_CONSUL:-/usr/local/bin/consul}"
if [ -x "$TARGET" ]; then
    exit 0
fi
SOURCES=/etc/apt/sources.list.d/debian.sources
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/lists/partial" "$WORK/archives/partial"
if [ -f "$SOURCES" ]; then
    # First stanza's URIs (the main archive), suite bullseye.
    MIRROR="$(awk '/^URIs:/ {print $2; exit}' "$SOURCES")"
    KEYRING="$(awk '/^Signed-By:/ {print $2; exit}' "$SOURCES")"
else
    MIRROR="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)"
    KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
fi
cat > "$WORK/bullseye.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: bullseye
Components: main
Signed-By: ${KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
SRC
APT=(-o "Dir::Etc::sourcelist=$WORK/bullseye.sources" -o Dir::Etc::sourceparts=/dev/null
     -o "Dir::State::Lists=$WORK/lists" -o "Dir::Cache::Archives=$WORK/archives"
     -o Debug::NoLocking=1)
apt-get "${APT[@]}" update -qq
(cd "$WORK" && apt-get "${APT[@]}" download consul >/dev/null)
dpkg-deb -x "$WORK"/consul_*.deb "$WORK/root"
install -m 0755 "$WORK/root/usr/bin/consul" "$TARGET"
echo "installed $("$TARGET" version | head -1) at $TARGET"
