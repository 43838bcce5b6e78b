#!/usr/bin/env bash
# Install sensesearch into .venv, index the bundled corpus (inaugural addresses + the sense demo),
# and show that usages of "bank" separate by sense.
set -euo pipefail
cd "$(dirname "$0")"
export HF_HUB_OFFLINE=1
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e . torch==2.13.0
.venv/bin/sensesearch index corpora/inaugural corpora/demo --index indexes/default
echo; echo '== river sense: "We sat on the grassy [[bank]] of the river."'
.venv/bin/sensesearch query "We sat on the grassy [[bank]] of the river." --index indexes/default -k 6
echo; echo '== money sense: "She paid the money into her [[bank]] account."'
.venv/bin/sensesearch query "She paid the money into her [[bank]] account." --index indexes/default -k 6
echo; .venv/bin/sensesearch info --index indexes/default
