#!/usr/bin/env bash
# gen-prompts.sh OUTDIR — make the hotline's Asterisk sound files from the
# Chinese texts of ari/prompts.yaml (the one source of the prompts).
#
# Every prompt becomes an 8 kHz, mono, 16-bit WAV spoken by espeak-ng's
# Mandarin voice (cmn), named after its sound: sound:hotline/greeting →
# OUTDIR/hotline/greeting.wav. OUTDIR/durations.tsv lists "sound<TAB>seconds"
# for every file; `hotline demo -prompts OUTDIR` plays those lengths.
#
# Needs: espeak-ng and sox (Debian: apt-get install espeak-ng sox).
# Install on Asterisk: copy OUTDIR/hotline to /var/lib/asterisk/sounds/
# (Asterisk plays sound:hotline/greeting from …/sounds/hotline/greeting.wav).
#
# Environment: PROMPTS_FILE (default ari/prompts.yaml), ESPEAK_SPEED (words
# per minute, default 150).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
src=${PROMPTS_FILE:-"$(cd "$(dirname "$0")/.." && pwd)/ari/prompts.yaml"}
speed=${ESPEAK_SPEED:-150}
for tool in espeak-ng sox soxi; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is not installed (apt-get install espeak-ng sox)" >&2; exit 1; }
done
[ -r "$src" ] || { echo "$0: cannot read $src" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# ari/prompts.yaml: "key:" then "  sound: …" and "  text: …" lines.
# Print "sound<TAB>text" per prompt.
awk '
  /^[[:space:]]*#/ || /^[[:space:]]*$/ { next }
  /^[^[:space:]]/ { if (sound != "" || text != "") { print sound "\t" text }; sound = ""; text = ""; next }
  /^[[:space:]]+sound:/ { sub(/^[[:space:]]+sound:[[:space:]]*/, ""); sound = $0; next }
  /^[[:space:]]+text:/  { sub(/^[[:space:]]+text:[[:space:]]*/, "");  text = $0;  next }
  END { if (sound != "" || text != "") print sound "\t" text }
' "$src" >"$tmp/prompts.tsv"

: >"$tmp/durations.tsv"
count=0
while IFS=$'\t' read -r sound text; do
  if [ -z "$sound" ] || [ -z "$text" ]; then
    echo "$0: a prompt in $src lacks its sound or text" >&2
    exit 1
  fi
  case $sound in
    sound:*) name=${sound#sound:} ;;
    *) echo "$0: $sound is not a sound: URI" >&2; exit 1 ;;
  esac
  mkdir -p "$out/$(dirname "$name")"
  espeak-ng -v cmn -s "$speed" -w "$tmp/voice.wav" -- "$text"
  # Asterisk's native telephone format: 8 kHz, mono, signed 16-bit.
  sox -V1 "$tmp/voice.wav" -r 8000 -c 1 -b 16 -e signed-integer "$out/$name.wav" gain -n -3
  printf '%s\t%s\n' "$sound" "$(soxi -D "$out/$name.wav")" >>"$tmp/durations.tsv"
  count=$((count + 1))
done <"$tmp/prompts.tsv"

mv "$tmp/durations.tsv" "$out/durations.tsv"
echo "$count prompts written to $out (durations in $out/durations.tsv)"
