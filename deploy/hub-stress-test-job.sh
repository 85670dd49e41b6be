#!/usr/bin/env bash
# One hub-stress-test spread over the pods of a Kubernetes Indexed Job, and one merged report.
#
#   deploy/hub-stress-test-job.sh render  [OPTIONS] -- COMMAND [ARGS...]   print the Job (YAML)
#   deploy/hub-stress-test-job.sh run     [OPTIONS] -- COMMAND [ARGS...]   apply it, wait, collect, merge
#   deploy/hub-stress-test-job.sh collect [OPTIONS]                        collect a finished Job, merge
#
# COMMAND [ARGS...] is what every pod runs, for the whole test: stress-test -c 4000 -b 40,
# journey -c 1000 --ramp-up 10m, activity-stress-test or capacity. A token, a password, -e or what
# this script sets (--shard, --shards, --start-at, --json) is refused in it, however written. Each
# pod runs its share (--shards N, its index from JOB_COMPLETION_INDEX), and all begin their load
# together at --start-at, set here.
#
# Options:
#   --image IMAGE      the image built from deploy/Dockerfile (render, run)
#   --endpoint URL     the hub API URL as the pods reach it [env: JUPYTERHUB_ENDPOINT], e.g.
#                      http://proxy-public.jhub.svc.cluster.local/hub/api
#   --shards N         pods, all running at once (default 4, at most 10000)
#   --start-in S       seconds from now to the common start, time for every pod to be scheduled
#                      and pull the image (default 90, at most 86400)
#   --name NAME        the Job's name (default hub-stress-test)
#   --namespace NS     (default: kubectl's current namespace)
#   --secret NAME      the Secret holding the hub API token under key "token", and for journey
#                      --auth form the students' password under key "password" (default
#                      hub-stress-test); `run` creates or updates it from JUPYTERHUB_API_TOKEN and
#                      HUB_STRESS_TEST_PASSWORD when set
#   --out DIR          where the shards' reports and the merged ones go (default ./NAME-report)
#   --threshold EXPR   judged by merge on the whole test, repeatable
#   --timeout S        how long `run` waits for the Job to finish (default 7200)
# Environment: KUBECTL (default kubectl), HST_TOOL (the hub-stress-test that merges; default the
# repository's build/hub-stress-test, else the one on PATH).
# Exit status: merge's (0 pass, 99 a threshold failed, 128 a shard failed or is missing), 2 on bad usage.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kubectl="${KUBECTL:-kubectl}"
die() { echo "hub-stress-test-job: $*" >&2; exit 2; }

action="${1:-}"
case "$action" in render | run | collect) shift ;; *) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;; esac
image="" endpoint="${JUPYTERHUB_ENDPOINT:-}" shards=4 start_in=90 name=hub-stress-test namespace="" secret=hub-stress-test
out="" timeout=7200
thresholds=()
while [ $# -gt 0 ]; do
  case "$1" in
  --image) image="${2:?--image needs a value}"; shift 2 ;;
  --endpoint) endpoint="${2:?--endpoint needs a value}"; shift 2 ;;
  --shards) shards="${2:?--shards needs a value}"; shift 2 ;;
  --start-in) start_in="${2:?--start-in needs a value}"; shift 2 ;;
  --name) name="${2:?--name needs a value}"; shift 2 ;;
  --namespace) namespace="${2:?--namespace needs a value}"; shift 2 ;;
  --secret) secret="${2:?--secret needs a value}"; shift 2 ;;
  --out) out="${2:?--out needs a value}"; shift 2 ;;
  --threshold) thresholds+=(--threshold "${2:?--threshold needs a value}"); shift 2 ;;
  --timeout) timeout="${2:?--timeout needs a value}"; shift 2 ;;
  --) shift; break ;;
  *) die "unknown option $1 (see the top of $0)" ;;
  esac
done
{ [[ "$shards" =~ ^[1-9][0-9]{0,4}$ ]] && [ "$shards" -le 10000 ]; } || die "--shards must be a number from 1 to 10000 (the tool's limit), got $shards"
{ [[ "$start_in" =~ ^[0-9]{1,5}$ ]] && [ "$start_in" -le 86400 ]; } || die "--start-in must be a number of seconds up to 86400 (a day), got $start_in"
[[ "$name" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "--name must be a DNS label (lower-case letters, digits, dashes), got $name"
[[ "$secret" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || die "--secret must be a Secret's name (lower-case letters, digits, dashes, dots), got $secret"
[[ "$timeout" =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds, got $timeout"
[ -z "$endpoint" ] || [[ "$endpoint" =~ ^https?://[^/?#]+ ]] || die "--endpoint must be an http:// or https:// URL of the hub's API as the pods reach it, e.g. http://proxy-public.jhub.svc.cluster.local/hub/api"
[[ "$endpoint" != *://*@* ]] || die "--endpoint must not carry credentials: they would be in the Job; the token goes in the Secret"
out="${out:-./$name-report}"
ns=()
[ -n "$namespace" ] && ns=(--namespace "$namespace")

# A YAML double-quoted string: backslash, quote and control characters escaped (JSON's escapes
# are YAML's), so that an argument reaches the pod exactly as given, newlines included.
quote() {
  local s="$1" c hex
  s="${s//\\/\\\\}" s="${s//\"/\\\"}" s="${s//$'\n'/\\n}" s="${s//$'\t'/\\t}" s="${s//$'\r'/\\r}"
  while [[ "$s" =~ [[:cntrl:]] ]]; do
    c="${BASH_REMATCH[0]}"
    printf -v hex '\\u%04x' "'$c"
    s="${s//"$c"/$hex}"
  done
  printf '"%s"' "$s"
}

# The tool's own argument grammar (CLI11's, as app/cli.cpp declares it; tests/deploy/test-manifest.sh
# checks these lists against the tool's --help): options that take a value, and flags. A short
# option's letters may be combined (-qv, -qtTOKEN, -vt TOKEN, -c40); a long one's value follows it
# or an = (--token=TOKEN). Kept on one line each: the test reads them.
value_opts=" --arrival --auth --batch-size -b --ca-bundle --cells --code --count -c --csv --duration --endpoint -e --expect --factor --html --hub-metrics-interval --json --max --password --prefix --profile -p --ramp-up --rates --server-timeout --shard --shards --stage --start --start-at --stay --step-timeout --think --threshold --timeout --token -t --workers "
flag_opts=" --dry-run --help -h --insecure --keep -k --quiet -q --verbose -v --version "
optional_value_opts=" --log-to-file "

# Every option of the pods' command as the tool will read it; refuses what the Job must not carry
# (a secret, the endpoint, what this script sets) and what every pod would refuse, before anything
# is applied. Sets count (the -c given, else "").
check_args() {
  local arg name value letters i letter
  local command="$1"
  count=""
  shift
  while [ $# -gt 0 ]; do
    arg="$1"; shift
    case "$arg" in
    --) break ;;
    --*)
      name="${arg%%=*}" value=""
      if [[ "$arg" == *=* ]]; then value="${arg#*=}"
      elif [[ "$value_opts" == *" $name "* ]]; then value="${1-}"; [ $# -eq 0 ] || shift
      elif [[ "$optional_value_opts" == *" $name "* ]]; then if [ $# -gt 0 ] && [[ "$1" != -* ]]; then shift; fi
      elif [[ "$flag_opts" != *" $name "* ]]; then die "$name: the tool has no such option (hub-stress-test $command --help)"
      fi
      check_option "$name" "$value" ;;
    -?*)
      letters="${arg#-}"
      for ((i = 0; i < ${#letters}; i++)); do
        letter="-${letters:i:1}"
        if [[ "$value_opts" == *" $letter "* ]]; then
          value="${letters:i+1}"
          if [ -z "$value" ]; then value="${1-}"; [ $# -eq 0 ] || shift; fi
          check_option "$letter" "$value"
          break
        fi
        [[ "$flag_opts" == *" $letter "* ]] || die "$letter${arg:+ (in $arg)}: the tool has no such option (hub-stress-test $command --help)"
        check_option "$letter" ""
      done ;;
    esac
  done
  local pods_students="${count:-}"
  if [ -z "$pods_students" ]; then case "$command" in journey) pods_students=10 ;; capacity) pods_students="" ;; *) pods_students=100 ;; esac; fi
  if [ -n "$pods_students" ] && [ "$pods_students" -lt "$shards" ]; then
    die "--shards $shards over -c $pods_students: some pods would have no user; use at most $pods_students shards"
  fi
}

check_option() {  # NAME VALUE
  case "$1" in
  -t | --token | --password)
    die "$1: secrets go in the Secret (--secret), never in the Job; leave it out of the command" ;;
  -e | --endpoint)
    die "$1 in the command: give the hub with this script's --endpoint (the pods' JUPYTERHUB_ENDPOINT), never in the Job's arguments" ;;
  --shard | --shards | --start-at | --json)
    die "$1 is set by this script; leave it out of the command" ;;
  -c | --count)
    { [[ "$2" =~ ^[1-9][0-9]{0,6}$ ]] && [ "$2" -le 1000000 ]; } || die "$1 must be a number of users from 1 to 1000000, got '$2'"
    count="$2" ;;
  esac
}

render() {  # COMMAND ARGS... -> the Job on stdout
  [ $# -gt 0 ] || die "no command for the pods: add -- stress-test -c N ... (or journey, activity-stress-test, capacity)"
  case "$1" in stress-test | activity-stress-test | journey | capacity) ;; *) die "the pods run stress-test, activity-stress-test, journey or capacity, not $1" ;; esac
  [ -n "$image" ] || die "--image is required: the image built from deploy/Dockerfile"
  [ -n "$endpoint" ] || die "--endpoint (or JUPYTERHUB_ENDPOINT) is required: the hub API URL as the pods reach it"
  local start_at
  check_args "$@"
  start_at="$(date -u -d "+$start_in seconds" +%Y-%m-%dT%H:%M:%SZ)"
  cat <<YAML
apiVersion: batch/v1
kind: Job
metadata:
  name: $name
  labels:
    app.kubernetes.io/name: hub-stress-test
    app.kubernetes.io/instance: $name
spec:
  completionMode: Indexed
  completions: $shards
  parallelism: $shards
  # a shard is never run twice (its users would be made twice), and one that fails does not stop
  # the others (Kubernetes 1.29 and later): merge names it
  backoffLimitPerIndex: 0
  maxFailedIndexes: $shards
  # the pods, and their logs with the reports, stay a day after the Job ends
  ttlSecondsAfterFinished: 86400
  template:
    metadata:
      labels:
        app.kubernetes.io/name: hub-stress-test
        app.kubernetes.io/instance: $name
    spec:
      restartPolicy: Never
      # a SIGTERM lets each shard stop its servers and delete its users before it goes
      terminationGracePeriodSeconds: 600
      # load from several nodes, where there are several
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              app.kubernetes.io/instance: $name
      securityContext:
        runAsNonRoot: true
        runAsUser: 65534
        runAsGroup: 65534
      containers:
        - name: hub-stress-test
          image: $(quote "$image")
          args:
YAML
  for arg in "$@" --shards "$shards" --start-at "$start_at"; do
    echo "            - $(quote "$arg")"
  done
  cat <<YAML
          env:
            - name: JUPYTERHUB_ENDPOINT
              value: $(quote "$endpoint")
            - name: JUPYTERHUB_API_TOKEN
              valueFrom:
                secretKeyRef:
                  name: $(quote "$secret")
                  key: token
            - name: HUB_STRESS_TEST_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: $(quote "$secret")
                  key: password
                  optional: true
          resources:
            requests:
              cpu: "1"
              memory: 256Mi
            limits:
              memory: 1Gi
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
YAML
}

job_ended() {  # true once every pod of the Job has ended, whatever fields its status leaves out
  local status succeeded="" failed="" active="" terminating="" ended value
  status="$("$kubectl" "${ns[@]}" get job "$name" -o jsonpath='succeeded={.status.succeeded};failed={.status.failed};active={.status.active};terminating={.status.terminating};ended={range .status.conditions[?(@.status=="True")]}{.type},{end}' 2>/dev/null)" || return 1
  local field
  while IFS='=' read -r -d ';' field value; do  # "name=N;" each, N empty when Kubernetes left it out
    case "$field" in succeeded) succeeded="$value" ;; failed) failed="$value" ;; active) active="$value" ;; terminating) terminating="$value" ;; esac
  done <<<"$status"
  ended="${status##*ended=}"
  [[ ",$ended" == *,Complete,* || ",$ended" == *,Failed,* ]] && return 0
  [ "$((${succeeded:-0} + ${failed:-0}))" -ge "$shards" ] && [ "${active:-0}" -eq 0 ] && [ "${terminating:-0}" -eq 0 ]
}

tool() {
  if [ -n "${HST_TOOL:-}" ]; then echo "$HST_TOOL"
  elif [ -x "$here/../build/hub-stress-test" ]; then echo "$here/../build/hub-stress-test"
  elif command -v hub-stress-test >/dev/null; then command -v hub-stress-test
  else die "no hub-stress-test to merge with: build it (./scripts/build.sh) or set HST_TOOL"
  fi
}

collect() {  # every pod's report out of its log, then merge
  mkdir -p "$out"
  rm -f "$out"/shard-*.json  # an earlier test's reports would be refused by merge
  local pods pod index got=0 t
  t="$(tool)"
  pods="$("$kubectl" "${ns[@]}" get pods -l "job-name=$name" \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.annotations.batch\.kubernetes\.io/job-completion-index}{"\n"}{end}')"
  [ -n "$pods" ] || die "no pods of Job $name${namespace:+ in namespace $namespace}"
  while read -r pod index; do
    [ -n "$pod" ] || continue
    if "$kubectl" "${ns[@]}" logs "$pod" |
      sed -n '/^==== hub-stress-test shard report/,/^==== end of hub-stress-test shard report/p' | sed '1d;$d' |
      base64 -d 2>/dev/null | gunzip -c >"$out/shard-$index.json" 2>/dev/null && [ -s "$out/shard-$index.json" ]; then
      got=$((got + 1))
    else
      rm -f "$out/shard-$index.json"
      echo "hub-stress-test-job: pod $pod (shard $index) printed no report; merge counts it as missing" >&2
    fi
  done <<<"$pods"
  [ "$got" -gt 0 ] || die "no pod of Job $name printed a report"
  echo "hub-stress-test-job: $got shard reports in $out; merging" >&2
  set +e
  "$t" merge "$out"/shard-*.json --json "$out/merged.json" --html "$out/merged.html" --csv "$out/csv" "${thresholds[@]}"
  local code=$?
  set -e
  echo "hub-stress-test-job: merged report in $out/merged.json and $out/merged.html" >&2
  return $code
}

case "$action" in
render) render "$@" ;;
run)
  manifest="$(render "$@")"
  if "$kubectl" "${ns[@]}" get job "$name" >/dev/null 2>&1; then
    die "Job $name exists already: collect it, or delete it (kubectl delete job $name), or give another --name"
  fi
  if [ -n "${JUPYTERHUB_API_TOKEN:-}" ]; then  # through files the shell does not show: never on a command line
    keys="$(mktemp -d)"
    trap 'rm -rf "$keys"' EXIT
    printf '%s' "$JUPYTERHUB_API_TOKEN" >"$keys/token"
    [ -z "${HUB_STRESS_TEST_PASSWORD:-}" ] || printf '%s' "$HUB_STRESS_TEST_PASSWORD" >"$keys/password"
    "$kubectl" "${ns[@]}" create secret generic "$secret" --from-file="$keys" --dry-run=client -o yaml |
      "$kubectl" "${ns[@]}" apply -f - >&2
    rm -rf "$keys"
  fi
  printf '%s\n' "$manifest" | "$kubectl" "${ns[@]}" apply -f - >&2
  echo "hub-stress-test-job: Job $name: $shards pods; waiting until every one has ended (at most $timeout s)" >&2
  # every index ended, succeeded or failed (a failed one does not stop the others). While the Job
  # runs Kubernetes leaves out the counts that are 0, so each is read by name, and a Job is over
  # only once it says so (condition Complete or Failed) or every pod is counted and none is active.
  done_=false
  poll="${HST_POLL_SECONDS:-10}"  # a test's stand-in kubectl polls faster
  for ((waited = 0; waited < timeout; waited += poll)); do
    if job_ended; then done_=true; break; fi
    sleep "$poll"
  done
  $done_ || { echo "hub-stress-test-job: Job $name still runs after $timeout s; collect it once it ends: $0 collect --name $name" >&2; exit 124; }
  collect
  ;;
collect)
  # a Job still running would be merged on part of its shards, and merge would advise a purge that
  # deletes the running shards' users
  if "$kubectl" "${ns[@]}" get job "$name" >/dev/null 2>&1 && ! job_ended; then
    die "Job $name still has pods running: collect it once every pod has ended (kubectl get job $name)"
  fi
  collect ;;
esac
