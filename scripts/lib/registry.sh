# Shared by scripts/demo and scripts/bench-promote: local docker-registry processes.
# Requires $work (a temp dir). Pids go to $work/NAME.pid: callers use $(start_registry …),
# a subshell, so a shell variable would not survive.

# start_registry NAME → prints host:port of a fresh registry storing under $work/NAME
start_registry() {
  local name=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$work/$name"
  printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$work/$name" "$port" > "$work/$name.yml"
  docker-registry serve "$work/$name.yml" >"$work/$name.log" 2>&1 &
  echo $! > "$work/$name.pid"
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
  echo "127.0.0.1:$port"
}

stop_registries() {
  local f
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; rm -f "$f"; done
  return 0
}

# start_fixture NAME SCRIPT [ARGS…] → prints the port of a Tests/Fixtures server (it prints
# "PORT <n>" when it listens); its pid goes to $work/NAME.pid like the registries'.
start_fixture() {
  local name=$1 script=$2 port=""
  shift 2
  # Fixtures exit when stdin closes; a FIFO opened read-write never closes (it is killed by pid).
  mkfifo "$work/$name.stdin"
  python3 "Tests/Fixtures/$script" "$@" <>"$work/$name.stdin" >"$work/$name.out" 2>&1 &
  echo $! > "$work/$name.pid"
  for _ in $(seq 100); do port=$(sed -n 's/^PORT //p' "$work/$name.out"); [ -n "$port" ] && break; sleep 0.1; done
  echo "$port"
}
