# Sourced by scripts that start the services on loopback (demo.sh, plugin-dev.sh).
# free_port N: the first port from N to N+100 that nothing listens on at 127.0.0.1.
free_port() {
  local p
  for p in $(seq "$1" $(($1 + 100))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "$(basename "$0" .sh): no free port near $1" >&2
  exit 1
}
