#!/usr/bin/env python3
"""Consistency of packaging/k8s: every document has apiVersion/kind/name, selectors match
their pod labels, every referenced ConfigMap/Secret/Deployment exists, probes use declared
ports, and the worker's grace period exceeds its drain timeout."""
import pathlib
import sys

import yaml

docs = []
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    if path.name == "yamllint.yaml":
        continue
    docs += [(path.name, d) for d in yaml.safe_load_all(path.read_text()) if d]

problems = []
by_kind = {}
for name, d in docs:
    for key in ("apiVersion", "kind"):
        if key not in d:
            problems.append(f"{name}: a document without {key}")
    by_kind.setdefault(d.get("kind"), {})[d.get("metadata", {}).get("name")] = d

settings = by_kind.get("ConfigMap", {}).get("generator-settings", {}).get("data", {})
for dep_name, dep in by_kind.get("Deployment", {}).items():
    spec = dep["spec"]
    labels = spec["template"]["metadata"]["labels"]
    for k, v in spec["selector"]["matchLabels"].items():
        if labels.get(k) != v:
            problems.append(f"Deployment {dep_name}: selector {k}={v} does not match the pod")
    pod = spec["template"]["spec"]
    if not pod.get("securityContext", {}).get("runAsNonRoot"):
        problems.append(f"Deployment {dep_name}: not runAsNonRoot")
    for c in pod["containers"]:
        ports = {p["name"] for p in c.get("ports", [])}
        for ref in c.get("envFrom", []):
            for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                if key in ref and ref[key]["name"] not in by_kind.get(kind, {}):
                    problems.append(f"Deployment {dep_name}: no {kind} {ref[key]['name']}")
        for probe in ("readinessProbe", "livenessProbe"):
            port = c.get(probe, {}).get("httpGet", {}).get("port")
            if port is not None and port not in ports:
                problems.append(f"Deployment {dep_name}: {probe} uses undeclared port {port}")
    if dep_name == "generator-worker":
        drain = int(settings.get("WORKER__DRAIN_TIMEOUT_S", "30"))
        if pod.get("terminationGracePeriodSeconds", 30) <= drain:
            problems.append("generator-worker: terminationGracePeriodSeconds <= the drain timeout")
        env = {e["name"] for e in pod["containers"][0].get("env", [])}
        for var in ("THREADS__DRAMATIQ_PROCESSES", "THREADS__DRAMATIQ_THREADS"):
            if var not in env:
                problems.append(f"generator-worker: {var} is not set")

for svc_name, svc in by_kind.get("Service", {}).items():
    sel = svc["spec"]["selector"]
    if not any(all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in sel.items())
               for d in by_kind.get("Deployment", {}).values()):
        problems.append(f"Service {svc_name}: selects no Deployment")
for hpa_name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
    target = hpa["spec"]["scaleTargetRef"]["name"]
    if target not in by_kind.get("Deployment", {}):
        problems.append(f"HPA {hpa_name}: no Deployment {target}")

for p in problems:
    print("FAIL:", p)
print(f"k8s_check: {len(docs)} documents, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
