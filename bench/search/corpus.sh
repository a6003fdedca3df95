#!/usr/bin/env bash
# The corpus of bench_search: N real English documents, the man pages installed by Debian
# packages (manpages, manpages-dev and every other package's English pages under
# /usr/share/man/man*), rendered to plain text by groff (as `man` would, without paging),
# one .txt file per page, in sorted path order so every run gets the same documents.
# Pages that are only a `.so` link to another page, or render to under 200 bytes, are skipped.
# Cached: a second run with the same N reuses the files.
# usage: corpus.sh N DIR
set -euo pipefail
N="${1:-10000}"
DIR="${2:-$HOME/.cache/generator/bench-search/man}"
mkdir -p "$DIR"
have=$(find "$DIR" -name '*.txt' | wc -l)
if [ "$have" -ge "$N" ]; then
  echo "corpus: $have documents in $DIR (cached)" >&2
  exit 0
fi
command -v groff >/dev/null || { echo "corpus: groff is missing (apt-get install groff-base)" >&2; exit 1; }
LIST="$DIR/.list"
find /usr/share/man/man1 /usr/share/man/man2 /usr/share/man/man3 /usr/share/man/man4 \
  /usr/share/man/man5 /usr/share/man/man7 /usr/share/man/man8 -type f -name '*.gz' 2>/dev/null |
  sort > "$LIST"
echo "corpus: rendering up to $N of $(wc -l < "$LIST") man pages into $DIR ..." >&2
render() {
  local src="$1" out
  out="$2/$(basename "$src" .gz).txt"
  [ -s "$out" ] && return 0
  # A page that is only ".so other.3" is a link: skip it.
  if zcat "$src" | head -c 300 | grep -q '^\.so '; then return 0; fi
  zcat "$src" | MANWIDTH=80 groff -mandoc -Tutf8 -P-c -P-b -P-o -P-u 2>/dev/null > "$out.tmp" || true
  if [ "$(stat -c %s "$out.tmp")" -ge 200 ]; then mv "$out.tmp" "$out"; else rm -f "$out.tmp"; fi
}
export -f render
# Render in batches until N documents exist (skipped pages make the count fall short).
offset=0
total=$(wc -l < "$LIST")
while [ "$(find "$DIR" -name '*.txt' | wc -l)" -lt "$N" ] && [ "$offset" -lt "$total" ]; do
  need=$(( N - $(find "$DIR" -name '*.txt' | wc -l) ))
  batch=$(( need + need / 4 + 10 ))
  tail -n +"$((offset + 1))" "$LIST" | head -n "$batch" |
    xargs -P "$(nproc)" -I{} bash -c 'render "$1" "$2"' _ {} "$DIR"
  offset=$((offset + batch))
done
echo "corpus: $(find "$DIR" -name '*.txt' | wc -l) documents in $DIR" >&2
