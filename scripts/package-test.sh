#!/usr/bin/env bash
# The packages, end to end, as root on a Debian 12 machine (CI runs it through ctest as the
# `packaging` test). Modifies the system: installs and purges `generator` and
# `generator-sdk` and the `generator` user; leaves nothing behind, also when it fails.
#
#   1. build, then `cpack -G DEB` and `cpack -G RPM`
#   2. lintian (no errors) and rpmlint (no errors); rpm -qlp and dpkg -c list the same files
#   3. install the deb; check user, state dir, conffile, plugins; systemd-analyze verify
#   4. start both services the way their units do (ExecStart, EnvironmentFile, User,
#      NoNewPrivileges, no capabilities, UMask) with a test env file (free ports, a temp
#      SQLite under /var/lib/generator); submit the API's text.template example over HTTP,
#      download the artifact; SIGTERM -> exit 0
#   5. reinstall (upgrade path): the edited conffile is kept, migrations run as the user
#   6. install generator-sdk; build examples/hello-plugin against it in a clean folder, run
#      its unit tests; drop the module into /usr/lib/generator/plugins; restart; a
#      hello.greet job
#   7. remove keeps state and user; purge removes everything
#
# usage: [SKIP_BUILD=1] scripts/package-test.sh [build dir]      (default: ./build)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
[ "$(id -u)" -eq 0 ] || { echo "package-test: must run as root (it installs packages)" >&2; exit 1; }
for tool in cpack rpm rpmbuild lintian rpmlint systemd-analyze curl jq setpriv dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "package-test: $tool missing (scripts/bootstrap.sh)" >&2; exit 1; }
done
export DEBIAN_FRONTEND=noninteractive
WORK="$(mktemp -d /tmp/generator-package-test.XXXXXX)"
chmod 0755 "$WORK"
START=$(date +%s)
step() { echo "== [$(($(date +%s) - START)) s] $*"; }
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }

pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
purge_packages() {
  rm -f /usr/lib/generator/plugins/generator-hello.so
  if dpkg-query -W -f='${Status}' generator-sdk generator 2>/dev/null | grep -q "installed\|config-files"; then
    apt-get purge -y -qq generator-sdk generator >/dev/null 2>&1 || true
  fi
}
cleanup() {
  local status=$?
  stop_all
  if [ $status -ne 0 ]; then
    for log in "$WORK"/*.log; do
      [ -f "$log" ] && { echo "---- $log (last 40 lines)"; tail -40 "$log"; }
    done
  fi
  purge_packages
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT
purge_packages  # a previous run that was killed

# ---- 1. packages -----------------------------------------------------------------------------
step "build and package ($BUILD)"
if [ -z "${SKIP_BUILD:-}" ]; then  # SKIP_BUILD=1: package what is built (ctest has built it)
  cmake --build "$BUILD" -j"${JOBS:-2}" >"$WORK/build.log" 2>&1 || fail "build (see build.log)"
fi
rm -rf "$BUILD/packages"
(cd "$BUILD" && cpack -G DEB >"$WORK/cpack-deb.log" 2>&1) || fail "cpack -G DEB"
(cd "$BUILD" && cpack -G RPM >"$WORK/cpack-rpm.log" 2>&1) || fail "cpack -G RPM"
DEB=$(ls "$BUILD"/packages/generator_*.deb)
SDK_DEB=$(ls "$BUILD"/packages/generator-sdk_*.deb)
RPM=$(ls "$BUILD"/packages/generator-[0-9]*.rpm)
SDK_RPM=$(ls "$BUILD"/packages/generator-sdk-[0-9]*.rpm)
ls -l "$BUILD"/packages/*.deb "$BUILD"/packages/*.rpm

# ---- 2. lint and file lists ------------------------------------------------------------------
step "lintian"
for deb in "$DEB" "$SDK_DEB"; do
  lintian --fail-on error --tag-display-limit 0 "$deb" >"$WORK/lintian.log" 2>&1 ||
    { cat "$WORK/lintian.log"; fail "lintian errors in $(basename "$deb")"; }
  echo "$(basename "$deb"): $(grep -c '^E:' "$WORK/lintian.log" || true) errors," \
       "$(grep -c '^W:' "$WORK/lintian.log" || true) warnings"
  grep '^[EW]:' "$WORK/lintian.log" | sed 's/^/  /' || true
done
step "rpmlint"
# Both at once: packaging/rpm/rpmlintrc filters (each explained there) must all be used.
rpmlint --rpmlintrc "$ROOT/packaging/rpm/rpmlintrc" "$RPM" "$SDK_RPM" >"$WORK/rpmlint.log" 2>&1 || true
if grep -q ' E: ' "$WORK/rpmlint.log" || ! grep -q ' 0 errors' "$WORK/rpmlint.log"; then
  cat "$WORK/rpmlint.log"; fail "rpmlint errors"
fi
grep ' [EW]: ' "$WORK/rpmlint.log" | sed 's/^/  /' || true
tail -1 "$WORK/rpmlint.log"

step "rpm -qlp vs dpkg -c"
deb_files() { dpkg-deb --fsys-tarfile "$1" | tar -t --verbose | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | sort; }
rpm_files() { rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$1" 2>/dev/null | awk '$1 !~ /^d/ {print $2}' | sort; }
for pair in "$DEB:$RPM" "$SDK_DEB:$SDK_RPM"; do
  deb_files "${pair%%:*}" >"$WORK/deb.list"
  rpm_files "${pair##*:}" >"$WORK/rpm.list"
  diff -u "$WORK/deb.list" "$WORK/rpm.list" || fail "file lists differ: $(basename "${pair%%:*}") vs $(basename "${pair##*:}")"
  echo "$(basename "${pair%%:*}"): $(wc -l <"$WORK/deb.list") files, the same in the rpm"
done
deb_files "$DEB" >"$WORK/deb.list"
for f in /usr/bin/generator-backend /usr/bin/generator-worker /usr/bin/generator-plugin-check /usr/bin/generatorctl \
         /usr/lib/generator/plugins/generator-text.so /etc/generator/generator.env \
         /lib/systemd/system/generator-backend.service /lib/systemd/system/generator-worker.service; do
  grep -qx "$f" "$WORK/deb.list" || fail "$f is not in the generator package"
done
if grep -E 'fixture|bench|noop|_test' "$WORK/deb.list"; then fail "test or bench files in the package"; fi
dpkg-deb -f "$DEB" Depends | grep -q 'libc6' || fail "no shared-library dependencies: $(dpkg-deb -f "$DEB" Depends)"
echo "Depends: $(dpkg-deb -f "$DEB" Depends)"

# ---- 3. install --------------------------------------------------------------------------------
step "apt-get install ./$(basename "$DEB")"
apt-get install -y -qq --no-install-recommends "$DEB" >"$WORK/apt.log" 2>&1 || fail "install"
getent passwd generator >/dev/null || fail "no generator user"
[ "$(getent passwd generator | cut -d: -f7)" = /usr/sbin/nologin ] || fail "generator has a login shell"
[ "$(stat -c '%U:%G %a' /var/lib/generator)" = "generator:generator 750" ] ||
  fail "/var/lib/generator is $(stat -c '%U:%G %a' /var/lib/generator)"
[ "$(stat -c '%U:%G %a' /etc/generator/generator.env)" = "root:generator 640" ] ||
  fail "/etc/generator/generator.env is $(stat -c '%U:%G %a' /etc/generator/generator.env)"
dpkg-query -W -f='${Conffiles}\n' generator | grep -q /etc/generator/generator.env ||
  fail "generator.env is not a conffile"
generator-plugin-check --json /usr/lib/generator/plugins/generator-text.so >"$WORK/check.json" ||
  fail "the installed text plugin does not load: $(cat "$WORK/check.json")"
generator-worker version | grep -q "^generator-worker " || fail "generator-worker version"
step "systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/generator-backend.service \
  /lib/systemd/system/generator-worker.service >"$WORK/verify.log" 2>&1 ||
  { cat "$WORK/verify.log"; fail "systemd-analyze verify"; }
grep -q "generator" "$WORK/verify.log" && { cat "$WORK/verify.log"; fail "systemd-analyze verify complains"; }
# Hardening must not regress: exposure at most 3.0 of 10 (--threshold is in tenths; now 1.7).
for unit in generator-backend generator-worker; do
  systemd-analyze security --offline=true --threshold=30 "/lib/systemd/system/$unit.service" \
    >"$WORK/security.log" 2>&1 || { cat "$WORK/security.log"; fail "$unit: exposure above 3"; }
  echo "$unit: $(grep -o 'Overall exposure level.*' "$WORK/security.log")"
done

# ---- 4. the services, the way their units start them --------------------------------------------
free_port() {
  local p
  for p in $(seq "$1" $(($1 + 200))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  fail "no free port near $1"
}
PORT=$(free_port 18080)
METRICS_PORT=$(free_port 19091)
DB="/var/lib/generator/package-test-$$.db"
# Every /api route needs a credential: the backend installs this root key, and every curl
# below sends it (curl reads $CURL_HOME/.curlrc).
ROOT_KEY="package-test-root-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export CURL_HOME="$WORK"
printf 'header = "Authorization: Bearer %s"\n' "$ROOT_KEY" >"$WORK/.curlrc"
cat >"$WORK/test.env" <<ENV
# package-test overrides on top of /etc/generator/generator.env
HOSTING__HOST=127.0.0.1
HOSTING__PORT=$PORT
HOSTING__METRICS_PORT=$METRICS_PORT
DATABASE__URL=sqlite://$DB
THREADS__DRAMATIQ_PROCESSES=1
THREADS__DRAMATIQ_THREADS=2
WORKER__DRAIN_TIMEOUT_S=10
AUTH__ROOT_API_KEY=$ROOT_KEY
ENV
API="http://127.0.0.1:$PORT"

unit_value() { sed -n "s/^$2=//p" "/lib/systemd/system/$1" | tail -1; }
# read_env_file <file>: KEY=VALUE lines as systemd's EnvironmentFile= reads them.
read_env_file() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line#"${line%%[![:space:]]*}"}"
    case "$line" in ''|'#'*|';'*) continue ;; esac
    local key="${line%%=*}" value="${line#*=}"
    value="${value%\"}"; value="${value#\"}"
    printf '%s=%s\n' "$key" "$value"
  done <"$1"
}
# start_unit <unit> <log>: ExecStart of the unit, with its EnvironmentFile (then the test
# overrides), as its User, with NoNewPrivileges, an empty capability bounding set and its UMask.
start_unit() {
  local unit="$1" log="$2"
  local exec_start env_file user umask_value
  exec_start=$(unit_value "$unit" ExecStart)
  env_file=$(unit_value "$unit" EnvironmentFile)
  user=$(unit_value "$unit" User)
  umask_value=$(unit_value "$unit" UMask)
  [ -n "$exec_start" ] && [ -n "$env_file" ] && [ "$user" = generator ] || fail "$unit: unexpected unit"
  [ "$(unit_value "$unit" NoNewPrivileges)" = yes ] || fail "$unit: NoNewPrivileges is not set"
  local -a env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
  mapfile -t -O ${#env[@]} env < <(read_env_file "$env_file"; read_env_file "$WORK/test.env")
  # shellcheck disable=SC2086
  (umask "${umask_value:-0022}"; cd /; exec setpriv --reuid="$user" --regid="$user" --init-groups \
    --no-new-privs --inh-caps=-all --bounding-set=-all -- env -i "${env[@]}" $exec_start) \
    >"$log" 2>&1 &
  pids+=($!)
  echo "$unit: pid $!, '$exec_start' as $user"
}
start_services() {
  start_unit generator-backend.service "$WORK/backend.log"
  BACKEND_PID=${pids[-1]}
  start_unit generator-worker.service "$WORK/worker.log"
  WORKER_PID=${pids[-1]}
  for _ in $(seq 1 150); do
    curl -fsS "$API/health" >/dev/null 2>&1 && break
    kill -0 "$BACKEND_PID" 2>/dev/null || fail "generator-backend exited"
    sleep 0.2
  done
  curl -fsS "$API/health" >/dev/null || fail "generator-backend did not come up on $API"
  [ "$(ps -o user= -p "$BACKEND_PID")" = generator ] || fail "backend does not run as generator"
  [ "$(ps -o user= -p "$WORKER_PID")" = generator ] || fail "worker does not run as generator"
  grep -q '^CapBnd:[[:space:]]*0*$' "/proc/$WORKER_PID/status" || fail "worker has capabilities"
}
# stop_service <pid> <name>: SIGTERM, then the exit status must be 0.
stop_service() {
  kill -TERM "$1"
  local status=0
  wait "$1" || status=$?
  [ "$status" -eq 0 ] || fail "$2 exited $status after SIGTERM"
  echo "$2: SIGTERM -> exit 0"
}
stop_services() {
  stop_service "$BACKEND_PID" generator-backend
  stop_service "$WORKER_PID" generator-worker
  pids=()
}
# run_job <request json> <artifact name> <file>: submits with the installed generatorctl,
# which waits for COMPLETED and downloads the artifacts.
run_job() {
  local out="$WORK/ctl-out" rc=0
  [ -x /usr/bin/generatorctl ] || fail "the package did not install /usr/bin/generatorctl"
  rm -rf "$out"
  printf '%s' "$1" >"$WORK/job.json"
  GENERATOR_URL="$API" GENERATOR_TOKEN="$ROOT_KEY" /usr/bin/generatorctl submit \
    --file "$WORK/job.json" --wait --timeout 60 --output "$out" >"$WORK/ctl.log" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || fail "generatorctl submit --wait exited $rc: $(cat "$WORK/ctl.log")"
  [ -f "$out/$2" ] || fail "generatorctl did not download $2: $(ls "$out" 2>&1)"
  cp "$out/$2" "$3"
  echo "generatorctl: job COMPLETED, $2: $(stat -c %s "$3") bytes"
}

step "start the services as their units do"
start_services
step "a text.template job (the API reference's example)"
run_job '{"inputs":[{"name":"data.json","media_type":"application/json","content_base64":"eyJuYW1lIjoiV29ybGQifQ=="}],
          "steps":[{"generator":"text.template","params":{"template":"Hello {{name}}!"}}]}' \
  output.txt "$WORK/output.txt"
[ "$(cat "$WORK/output.txt")" = "Hello World!" ] || fail "artifact is '$(cat "$WORK/output.txt")'"
[ "$(stat -c %U "$DB")" = generator ] || fail "the database is not owned by generator"
step "SIGTERM"
stop_services

# ---- 5. upgrade path -----------------------------------------------------------------------------
step "reinstall: conffile kept, migrations as the service user"
echo "# edited by package-test" >>/etc/generator/generator.env
apt-get install -y -qq --reinstall --no-install-recommends "$DEB" >"$WORK/apt.log" 2>&1 || fail "reinstall"
grep -q "edited by package-test" /etc/generator/generator.env || fail "the edited conffile was replaced"
[ "$(stat -c '%U' /var/lib/generator/generator.db 2>/dev/null)" = generator ] ||
  fail "postinst did not migrate the default database as the generator user"

# ---- 6. the SDK, an out-of-tree plugin -------------------------------------------------------
step "apt-get install ./$(basename "$SDK_DEB")"
apt-get install -y -qq --no-install-recommends "$SDK_DEB" >"$WORK/apt.log" 2>&1 || fail "install the sdk"
cp -r "$ROOT/examples/hello-plugin" "$WORK/hello"
rm -rf "$WORK/hello/build"
step "build examples/hello-plugin against the installed SDK"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$WORK/hello" -B "$WORK/hello/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
  >"$WORK/hello-configure.log" 2>&1 || fail "configure hello-plugin"
sdk_dir=$(sed -n 's/^GeneratorSDK_DIR:PATH=//p' "$WORK/hello/build/CMakeCache.txt")
case "$sdk_dir" in /usr/lib/*) ;; *) fail "hello-plugin found the SDK in '$sdk_dir', not the package" ;; esac
cmake --build "$WORK/hello/build" -j"${JOBS:-2}" >"$WORK/hello-build.log" 2>&1 || fail "build hello-plugin"
ctest --test-dir "$WORK/hello/build" --output-on-failure >"$WORK/hello-test.log" 2>&1 ||
  fail "hello-plugin unit tests"
grep "tests passed" "$WORK/hello-test.log"
cmake --install "$WORK/hello/build" --prefix /usr >/dev/null
[ -f /usr/lib/generator/plugins/generator-hello.so ] || fail "generator-hello.so not installed"

step "restart, a hello.greet job"
start_services
curl -fsS "$API/api/v1/plugins" | jq -e '.. | objects | select(.name? == "hello") | .state == "LOADED"' >/dev/null ||
  fail "the backend did not load hello: $(curl -fsS "$API/api/v1/plugins")"
run_job '{"steps":[{"generator":"hello.greet","params":{"name":"Debian"}}]}' greeting.txt "$WORK/greeting.txt"
[ "$(cat "$WORK/greeting.txt")" = "Hello, Debian!" ] || fail "greeting is '$(cat "$WORK/greeting.txt")'"
stop_services

# ---- 7. remove, purge ----------------------------------------------------------------------------
step "remove keeps state and user"
rm -f /usr/lib/generator/plugins/generator-hello.so  # the operator's own file, not dpkg's
apt-get remove -y -qq generator-sdk generator >"$WORK/apt.log" 2>&1 || fail "remove"
[ -d /var/lib/generator ] && getent passwd generator >/dev/null || fail "remove deleted state or user"
[ -f /etc/generator/generator.env ] || fail "remove deleted the conffile"
step "purge removes everything"
apt-get purge -y -qq generator-sdk generator >"$WORK/apt.log" 2>&1 || fail "purge"
left=()
for path in /usr/bin/generator-backend /usr/bin/generator-worker /usr/bin/generator-plugin-check /usr/bin/generatorctl \
            /usr/lib/generator /etc/generator /var/lib/generator /usr/include/gen \
            /lib/systemd/system/generator-backend.service /lib/systemd/system/generator-worker.service \
            /usr/lib/sysusers.d/generator.conf /usr/share/doc/generator /usr/share/doc/generator-sdk; do
  [ -e "$path" ] && left+=("$path")
done
while IFS= read -r path; do left+=("$path"); done < <(find /usr/lib /usr/share -path '*cmake/GeneratorSDK*' 2>/dev/null)
[ ${#left[@]} -eq 0 ] || fail "left after purge: ${left[*]}"
getent passwd generator >/dev/null && fail "the generator user is left after purge"
getent group generator >/dev/null && fail "the generator group is left after purge"
dpkg-query -W -f='${Status}' generator 2>/dev/null | grep -q "installed\|config-files" && fail "dpkg still knows generator"
step "package-test: all checks passed"
