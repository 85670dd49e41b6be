#!/usr/bin/env bash
# The house by layers (STYLE.md), checked with grep so that anyone can run it: the engine knows
# nothing of JupyterHub, the report layer reads only the model's records, the model needs only the
# standard library; no callback HTTP layer (HttpEngine) is left; a request is answered in place of
# the network only in the engine's transport (no `responder` beyond src/engine and its headers, but
# the one line where the hub client hands the run's stand-in to its transport); no file in src/ over 450 lines and
# no function over 80 lines but the CLI's option table. Prints every breach; exit 1 if any.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root" || exit 2
bad=0
breach() { echo "layout: $*"; bad=1; }

while read -r hit; do breach "the engine includes another layer: $hit"; done < <(
  grep -rn '#include "hubstress/' src/engine include/hubstress/engine | grep -v '"hubstress/\(engine/\|log\.hpp\|duration\.hpp\)')
while read -r hit; do breach "the report layer includes beyond the model: $hit"; done < <(
  grep -rn '#include "hubstress/' src/report include/hubstress/report | grep -v '"hubstress/\(model/\|report/\|duration\.hpp\|log\.hpp\)')
while read -r hit; do breach "the model includes more than the standard library: $hit"; done < <(
  grep -rn '#include "' include/hubstress/model | grep -v '"hubstress/model/')
while read -r hit; do breach "the callback layer is back: $hit"; done < <(grep -rn 'HttpEngine' src include app)
while read -r hit; do breach "a responder outside the engine's transport: $hit"; done < <(
  grep -rn 'responder' src include app | grep -v '^src/engine/\|^include/hubstress/engine/' |
  grep -v '^src/hub/client.cpp:[0-9]*: *o\.responder = context\.settings()\.stand_in;$')

for f in src/*.cpp src/*/*.cpp; do
  n=$(wc -l <"$f")
  [ "$n" -le 450 ] || breach "$f has $n lines (at most 450: split it by what it does)"
done

# a function: a line at column 0 ending in "{" that is not a namespace, type or initializer, up to
# the next "}" at column 0
while read -r n where; do breach "$where is $n lines long (at most 80)"; done < <(
  awk 'FNR == 1 { start = 0 }
       start == 0 && /^[A-Za-z].*\{$/ && !/^(namespace|struct|class|enum|union|extern)/ && !/= *\{$/ { start = FNR; head = $0; next }
       start > 0 && /^\}/ { n = FNR - start - 1; if (n > 80) print n, FILENAME ":" start " (" substr(head, 1, 60) ")"; start = 0 }' \
    src/*.cpp src/*/*.cpp app/*.cpp | grep -v 'app/cli.cpp:[0-9]* (ParseResult parse(')

[ "$bad" -eq 0 ] && echo "layout checks passed"
exit "$bad"
