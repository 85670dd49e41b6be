#!/usr/bin/env bash
# Mutation check: do the tests fail when the behaviour breaks? For each mutation in bench/mutants.txt
# (a file, an exact code fragment, its replacement, and the tests that must catch it), applies it to
# a scratch copy of the source tree, builds that copy incrementally, runs those tests, and reverts.
# Prints one row per mutation (caught / NOT caught / STALE / NO BUILD / NO TESTS) and a closing line.
# Not part of CI: it rebuilds and runs tests once per mutation (about an hour on 2 cores).
#   bench/mutants.sh [-j N] [-l] [NAME-REGEX]
#     NAME-REGEX   only the mutations whose name matches (grep -E)
#     -j N         ctest parallelism (default 2)
#     -l           list the mutations and check their fragments; build nothing
# Scratch copy and its build: $HST_MUTANTS_DIR (default /tmp/hst-mutants-$(id -un)); logs in its logs/.
# The real tree is never changed. Exit status: 0 when every mutation ran and was caught.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
list="$root/bench/mutants.txt"
work="${HST_MUTANTS_DIR:-/tmp/hst-mutants-$(id -un)}"
src="$work/src"
build="$work/build"
meta="$work/list"
logs="$work/logs"
jobs=2
list_only=false
while getopts "j:lh" opt; do
  case "$opt" in
  j) jobs="$OPTARG" ;;
  l) list_only=true ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
only="${1:-}"

die() { echo "mutants.sh: $*" >&2; exit 2; }

# --- the list: one set of files per mutation in $meta (N.fragment, N.replace) and arrays by N ---
names=() files=() tests=() whys=()
parse_list() {
  rm -rf "$meta"
  mkdir -p "$meta"
  local n=-1 mode="" line lineno=0
  while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    if [ -n "$mode" ]; then
      if [ "$line" = end ]; then mode=""; else printf '%s\n' "$line" >>"$meta/$n.$mode"; fi
      continue
    fi
    case "$line" in
    '' | '#'*) ;;
    'mutant '*)
      n=$((n + 1))
      names[n]="${line#mutant }" files[n]="" tests[n]="" whys[n]=""
      : >"$meta/$n.fragment"
      : >"$meta/$n.replace" ;;
    'why '*) whys[n]="${line#why }" ;;
    'file '*) files[n]="${line#file }" ;;
    'tests '*) tests[n]="${line#tests }" ;;
    fragment | replace) [ $n -ge 0 ] || die "$list:$lineno: '$line' before the first 'mutant'"; mode="$line" ;;
    *) die "$list:$lineno: cannot read '$line'" ;;
    esac
  done <"$list"
  [ -z "$mode" ] || die "$list: a '$mode' block has no 'end'"
  local i
  for i in "${!names[@]}"; do
    if [ -z "${files[i]}" ] || [ -z "${tests[i]}" ] || [ ! -s "$meta/$i.fragment" ]; then
      die "$list: mutation '${names[i]}' needs file, tests and a fragment"
    fi
  done
}

# Replaces the fragment in FILE; exit 0 done, 3 fragment not found, 4 found more than once.
mutate() {  # FILE FRAGMENT-FILE REPLACE-FILE [check]
  /usr/bin/python3 - "$@" <<'EOF'
import sys
path, fragment_file, replace_file = sys.argv[1:4]
def block(p):  # the lines as written in the list, without the newline after the last one
    text = open(p).read()
    return text[:-1] if text.endswith("\n") else text
fragment, replacement = block(fragment_file), block(replace_file)
source = open(path).read()
found = source.count(fragment)
if found != 1:
    sys.exit(3 if found == 0 else 4)
if len(sys.argv) == 4:
    open(path, "w").write(source.replace(fragment, replacement))
EOF
}

# Makes $src hold exactly the repository's files (tracked and new, as they are now, uncommitted
# edits included). Only files that differ are copied, with a fresh mtime, so ninja rebuilds them.
sync_tree() {
  mkdir -p "$src"
  local f
  (cd "$root" && git ls-files --cached --others --exclude-standard) | sort >"$work/files.new"
  while IFS= read -r f; do
    [ -f "$root/$f" ] || continue  # deleted in the work tree, not yet in git
    if ! cmp -s "$root/$f" "$src/$f"; then
      mkdir -p "$(dirname "$src/$f")"
      cp "$root/$f" "$src/$f"
    fi
  done <"$work/files.new"
  if [ -f "$work/files" ]; then
    comm -23 "$work/files" "$work/files.new" | while IFS= read -r f; do rm -f "$src/$f"; done
  fi
  mv "$work/files.new" "$work/files"
  # the deploy tests' npm packages are not in git (scripts/install-deps.sh puts them there)
  if [ -d "$root/tests/deploy/node_modules" ] && [ ! -e "$src/tests/deploy/node_modules" ]; then
    ln -s "$root/tests/deploy/node_modules" "$src/tests/deploy/node_modules"
  fi
}

# No optimisation and no debug info: the quickest rebuild per mutation (the code means the same).
configure_copy() { cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=None >"$1" 2>&1; }
build_copy() { cmake --build "$build" >>"$1" 2>&1; }  # LOG -> 0 when it built

count_tests() { (cd "$build" && ctest -N -R "$1" | grep -c "^ *Test *#") || true; }

# The numbers of the tests REGEX selects, one a line ("Test #12: unit.X" -> 12).
test_numbers() { (cd "$build" && ctest -N -R "$1" | sed -n 's/^ *Test *#\([0-9]*\):.*/\1/p'); }

# "first.failed.Test (+2 more)" from a ctest log
failed_tests() {
  local failed
  failed=$(sed -n '/The following tests FAILED:/,$p' "$1" | sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) .*/\1/p')
  [ -n "$failed" ] || { echo "(ctest failed)"; return; }
  local n
  n=$(echo "$failed" | wc -l)
  echo "$(echo "$failed" | head -1)$([ "$n" -gt 1 ] && echo " (+$((n - 1)) more)")"
}

parse_list
selected=()
for i in "${!names[@]}"; do
  if [ -z "$only" ] || echo "${names[i]}" | grep -qE -- "$only"; then selected+=("$i"); fi
done
[ ${#selected[@]} -gt 0 ] || die "no mutation matches '$only'"

if $list_only; then
  for i in "${selected[@]}"; do
    status=0
    mutate "$root/${files[i]}" "$meta/$i.fragment" "$meta/$i.replace" check || status=$?
    case $status in 0) state=ok ;; 3) state=STALE ;; 4) state=AMBIGUOUS ;; *) state="error $status" ;; esac
    printf '%-3s %-36s %-28s %-9s %s\n' "$((i + 1))" "${names[i]}" "${files[i]}" "$state" "${whys[i]}"
  done
  exit 0
fi

mkdir -p "$work" "$logs"
exec 9>"$work/lock"
flock -n 9 || die "another mutants.sh runs on $work"

current=""  # the file under mutation: restored from the real tree however the script ends
restore() { [ -z "$current" ] || cp "$root/$current" "$src/$current"; current=""; }
trap restore EXIT
trap 'exit 130' INT TERM

echo "Scratch copy: $src (build: $build, logs: $logs)"
sync_tree
if ! configure_copy "$logs/baseline-build.log" || ! build_copy "$logs/baseline-build.log"; then
  die "the unmutated copy does not build; see $logs/baseline-build.log"
fi

# Every listed test passes on the unmutated copy first: otherwise "caught" would mean nothing.
# (by number: one regex joining them all would exceed what CMake's regex engine takes)
numbers=$(for i in "${selected[@]}"; do test_numbers "${tests[i]}"; done | sort -nu | paste -sd, -)
[ -n "$numbers" ] || die "the selected mutations name no test that exists"
echo "Baseline: $(echo "$numbers" | tr ',' '\n' | wc -l) tests of the selected mutations, unmutated..."
if ! (cd "$build" && ctest -j "$jobs" -I "0,0,0,$numbers" >"$logs/baseline-tests.log" 2>&1); then
  die "tests fail without any mutation: $(failed_tests "$logs/baseline-tests.log"); see $logs/baseline-tests.log"
fi

caught=0 missed=0 stale=0 broken=0
rows=()
printf '\n%-3s %-36s %-28s %-10s %s\n' "#" "mutation" "file" "result" "caught by / note"
for i in "${selected[@]}"; do
  name="${names[i]}" file="${files[i]}" regex="${tests[i]}"
  log="$logs/$(printf '%02d' $((i + 1)))-$name.log"
  : >"$log"
  status=0
  current="$file"
  mutate "$src/$file" "$meta/$i.fragment" "$meta/$i.replace" || status=$?
  if [ $status -eq 3 ] || [ $status -eq 4 ]; then
    current=""
    result=STALE
    note=$([ $status -eq 3 ] && echo "fragment not found in $file: update bench/mutants.txt" || echo "fragment found more than once in $file")
    stale=$((stale + 1))
  elif [ $status -ne 0 ]; then
    die "could not apply mutation '$name' to $file"
  elif ! build_copy "$log"; then
    result="NO BUILD"
    note="the mutated copy does not compile; see $log"
    broken=$((broken + 1))
  elif [ "$(count_tests "$regex")" -eq 0 ]; then
    result="NO TESTS"
    note="no test matches '$regex'"
    broken=$((broken + 1))
  else
    started=$SECONDS
    # a mutation that hangs a unit test (they have no TIMEOUT of their own) ends as a failure too
    if (cd "$build" && ctest -j "$jobs" --timeout 300 -R "$regex" >>"$log" 2>&1); then
      result="NOT caught"
      note="$(count_tests "$regex") tests passed with the bug in place"
      missed=$((missed + 1))
    else
      result=caught
      note="$(failed_tests "$log") in $((SECONDS - started)) s"
      caught=$((caught + 1))
    fi
  fi
  restore
  row=$(printf '%-3s %-36s %-28s %-10s %s' "$((i + 1))" "$name" "$file" "$result" "$note")
  rows+=("$row")
  echo "$row"
done

echo
echo "Mutations of $(basename "$list") against $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- || echo ' + uncommitted changes'):"
printf '%-3s %-36s %-28s %-10s %s\n' "#" "mutation" "file" "result" "caught by / note"
printf '%s\n' "${rows[@]}"
extra=""
[ $stale -eq 0 ] || extra="$extra, $stale stale"
[ $broken -eq 0 ] || extra="$extra, $broken did not build or had no tests"
echo "$caught caught, $missed not caught$extra"
[ $missed -eq 0 ] && [ $stale -eq 0 ] && [ $broken -eq 0 ]
