# Shared by scripts/demo and scripts/bench-promote: local docker-registry processes.
# Requires $work (a temp dir) and appends started pids to registry_pids.
registry_pids=()

# start_registry NAME → prints host:port of a fresh registry storing under $work/NAME
start_registry() {
  local name=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$work/$name"
  printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$work/$name" "$port" > "$work/$name.yml"
  docker-registry serve "$work/$name.yml" >"$work/$name.log" 2>&1 &
  registry_pids+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
  echo "127.0.0.1:$port"
}

stop_registries() {
  [ ${#registry_pids[@]} -eq 0 ] || kill "${registry_pids[@]}" 2>/dev/null || true
}
