#!/usr/bin/env python3
"""Renders every overlay under deploy/k8s/overlays with `kubectl kustomize` (offline) and checks the facts
the deployment depends on. kubectl turns the rendered YAML into JSON (`annotate --local`, no cluster), so
only the standard library is needed here.

Usage: k8s_kustomize_test.py SOURCE_DIR [KUBECTL]

Needs a kubectl whose embedded kustomize is v4 or later (the overlays use `labels`, `components` and
targeted `patches`): Debian 12's kubernetes-client (1.20, kustomize v2) cannot render them.
"""
import json
import os
import re
import subprocess
import sys

failures = []
kubectl = "kubectl"


def check(condition, message):
    if not condition:
        failures.append(message)


def render(overlay_dir):
    try:
        rendered = subprocess.run([kubectl, "kustomize", overlay_dir], capture_output=True,
                                  text=True, timeout=60)
    except FileNotFoundError:
        sys.exit(f"no {kubectl}: a kubectl with kustomize v4 or later is needed")
    if rendered.returncode != 0:
        sys.exit(f"{kubectl} kustomize {overlay_dir} failed (a kubectl with kustomize v4 or later is "
                 f"needed):\n{rendered.stderr}")
    yaml_text = rendered.stdout
    json_text = subprocess.run(
        [kubectl, "annotate", "--local", "-f", "-", "-o", "json", "byok-relay/checked=yes"],
        input=yaml_text, check=True, capture_output=True, text=True, timeout=60).stdout
    decoder, objects, pos = json.JSONDecoder(), [], 0
    while True:
        while pos < len(json_text) and json_text[pos].isspace():
            pos += 1
        if pos == len(json_text):
            return objects
        obj, pos = decoder.raw_decode(json_text, pos)
        objects.extend(obj["items"] if obj.get("kind") == "List" else [obj])


def shutdown_grace_seconds(source_dir, service):
    """The streams' grace after SIGTERM, as the daemon's main.cc sets it (its one owner)."""
    text = open(os.path.join(source_dir, "services", service, "main.cc")).read()
    match = re.search(r"kShutdownGrace\s*=\s*absl::Seconds\((\d+)\)", text)
    if not match:
        sys.exit(f"no kShutdownGrace in services/{service}/main.cc")
    return int(match.group(1))


def find(objects, kind, name):
    return next((o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name), None)


def workloads(objects):
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]


def env_of(workload):
    return {e["name"]: e for e in workload["spec"]["template"]["spec"]["containers"][0].get("env", [])}


def check_overlay(name, objects, grace):
    where = f"overlay {name}: "
    check(not any(o["kind"] == "Secret" for o in objects), where + "a Secret is inlined")

    # gRPC hops: headless Services, and callers that resolve every replica through DNS.
    for service in ("byok-vault", "byok-relay"):
        svc = find(objects, "Service", service)
        check(svc is not None and svc["spec"].get("clusterIP") == "None",
              where + f"Service {service} is not headless")
    config = find(objects, "ConfigMap", "byok-relay-config")
    check(config is not None, where + "no ConfigMap byok-relay-config")
    if config:
        for var, target in (("BYOK_VAULT_ADDR", "dns:///byok-vault:50051"),
                            ("BYOK_RELAY_ADDR", "dns:///byok-relay:50052")):
            check(config["data"].get(var) == target, where + f"{var} is not {target}")

    for w in workloads(objects):
        wname = w["metadata"]["name"]
        pod = w["spec"]["template"]["spec"]
        container = pod["containers"][0]
        check("readinessProbe" in container and "livenessProbe" in container,
              where + f"{wname} lacks a readiness or liveness probe")
        # Connection secrets are referenced, never written into the manifests.
        for var, entry in env_of(w).items():
            if re.search(r"SECRET|PASSWORD|_URL$", var) and var != "BYOK_REPO_URL":
                check("valueFrom" in entry, where + f"{wname}: {var} is inlined, not a secret reference")
        # Anything with more than one replica (or an autoscaler) has a disruption budget.
        labels = w["spec"]["selector"]["matchLabels"]
        scaled = w["spec"].get("replicas", 1) > 1 or find(objects, "HorizontalPodAutoscaler", wname)
        if scaled:
            check(any(o["kind"] == "PodDisruptionBudget" and
                      o["spec"]["selector"]["matchLabels"] == labels for o in objects),
                  where + f"{wname} has no PodDisruptionBudget")

    # Graceful drains: a preStop delay, then the streams' grace, within the termination grace.
    for wname, service in (("byok-gateway", "gateway"), ("byok-relay", "relay")):
        w = find(objects, "Deployment", wname)
        check(w is not None, where + f"no Deployment {wname}")
        if not w:
            continue
        pod = w["spec"]["template"]["spec"]
        pre_stop = pod["containers"][0].get("lifecycle", {}).get("preStop", {})
        command = pre_stop.get("exec", {}).get("command", [])
        delay = int(command[1]) if len(command) == 2 and command[0] == "sleep" else 0
        check(delay > 0, where + f"{wname} has no preStop delay")
        check(pod.get("terminationGracePeriodSeconds", 30) >= delay + grace[service],
              where + f"{wname}: terminationGracePeriodSeconds < preStop {delay} s + grace "
              f"{grace[service]} s")


def check_scale(objects):
    where = "overlay scale: "
    check(find(objects, "StatefulSet", "byok-vault") is None, where + "the SQLite StatefulSet is left")
    vault = find(objects, "Deployment", "byok-vault")
    check(vault is not None and vault["spec"]["replicas"] == 3, where + "vault is not 3 replicas")
    if vault:
        env = env_of(vault)
        ref = env.get("BYOK_VAULT_DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef")
        check(ref is not None, where + "BYOK_VAULT_DATABASE_URL is not from a Secret")
        check("DB_PATH" not in env, where + "the vault still sets DB_PATH")
        check("volumeClaimTemplates" not in vault["spec"], where + "the vault claims a volume")
        pre_stop = vault["spec"]["template"]["spec"]["containers"][0].get("lifecycle", {})
        check("preStop" in pre_stop, where + "the vault has no preStop delay")
    gateway = find(objects, "Deployment", "byok-gateway")
    if gateway:
        ref = env_of(gateway).get("REDIS_URL", {}).get("valueFrom", {}).get("secretKeyRef")
        check(ref is not None, where + "the gateway's REDIS_URL is not from a Secret")
    policy = find(objects, "NetworkPolicy", "byok-vault-ingress")
    ports = [p.get("port") for rule in (policy or {}).get("spec", {}).get("egress", [])
             for p in rule.get("ports", [])]
    check(5432 in ports, where + "the vault may not reach PostgreSQL (egress 5432)")


def main():
    global kubectl
    source_dir = sys.argv[1]
    if len(sys.argv) > 2:
        kubectl = sys.argv[2]
    overlays_dir = os.path.join(source_dir, "deploy", "k8s", "overlays")
    grace = {s: shutdown_grace_seconds(source_dir, s) for s in ("gateway", "relay")}
    overlays = sorted(d for d in os.listdir(overlays_dir)
                      if os.path.isfile(os.path.join(overlays_dir, d, "kustomization.yaml")))
    check("scale" in overlays, "no overlay scale")
    for overlay in overlays:
        objects = render(os.path.join(overlays_dir, overlay))
        check_overlay(overlay, objects, grace)
        if overlay == "scale":
            check_scale(objects)
    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print(f"{len(overlays)} overlays rendered and checked: {', '.join(overlays)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
