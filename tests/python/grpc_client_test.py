#!/usr/bin/env python3
"""A client in another language, built only from the .proto files: Python's grpcio (Debian's
python3-grpcio) against real byok-vaultd and byok-relayd processes on loopback.

It registers a user with the app credential, stores a key, streams a relayed completion from a fake
provider (this script's own HTTP server), cancels an endless stream and sees the provider's connection
closed, reads the structured error reasons (google.rpc.Status details with ErrorInfo), asks the health
service per service name and lists the services by server reflection.

Stubs are generated at build time into BYOK_PY_STUBS (protoc + grpc_python_plugin); daemons come from
BYOK_BIN_DIR. Every wait is bounded.
"""
import http.server
import json
import os
import random
import secrets
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.environ["BYOK_PY_STUBS"])

import grpc  # noqa: E402
from byok.relay.v1 import relay_pb2, relay_pb2_grpc  # noqa: E402
from byok.vault.v1 import vault_pb2, vault_pb2_grpc  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402

BIN = os.environ["BYOK_BIN_DIR"]
SERVICE_TOKEN = secrets.token_hex(32)
APP_SECRET = "python-client-app-secret"
DEADLINE_S = 10


def free_port():
    """A free port on 127.0.0.1 below the kernel's ephemeral range when there is room there: a port
    from that range (what binding port 0 returns) can meanwhile become the source port of an outgoing
    connection of a test running beside this one, and the daemon meant to listen on it then fails."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral_start = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_start = 32768
    rng = random.SystemRandom()
    if ephemeral_start - 10000 >= 1000:
        for _ in range(256):
            port = rng.randrange(10000, ephemeral_start)
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError("daemon exited: %s" % process.stdout.read().decode(errors="replace"))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d not open after %.0f s" % (port, timeout))


class FakeProvider(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """An OpenAI-like provider: /v1/chat/completions streams SSE chunks; model "endless" never ends
    and records when the relay closes the connection."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.closed = threading.Event()
        self.authorization = []


class FakeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
        self.server.authorization.append(self.headers.get("authorization"))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        endless = body.get("model") == "endless"
        try:
            for i in range(10_000 if endless else 3):
                self.chunk('data: {"choices":[{"delta":{"content":"piece %d"}}]}\n\n' % i)
                time.sleep(0.01 if endless else 0)
            self.chunk("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.server.closed.set()

    def chunk(self, text):
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def error_info(error):
    """The ErrorInfo in a failed call's grpc-status-details-bin trailer, or None."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info
    return None


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="byok-py-")
        cls.provider = FakeProvider()
        threading.Thread(target=cls.provider.serve_forever, daemon=True).start()
        provider_url = "http://127.0.0.1:%d" % cls.provider.server_address[1]
        cls.vault_port, cls.relay_port = free_port(), free_port()
        common = {"PATH": os.environ.get("PATH", ""), "LOG_LEVEL": "warn",
                  "BYOK_SERVICE_TOKEN": SERVICE_TOKEN,
                  "BYOK_VAULT_ADDR": "127.0.0.1:%d" % cls.vault_port,
                  "BYOK_ALLOW_PRIVATE_UPSTREAMS": "1"}
        cls.processes = []
        vault_env = dict(common, ENCRYPTION_SECRET=secrets.token_hex(32), APP_SECRET=APP_SECRET,
                         DB_PATH=os.path.join(cls.dir, "relay.db"))
        cls.processes.append(cls.start("byok-vaultd", vault_env, cls.vault_port))
        relay_env = dict(common, BYOK_RELAY_ADDR="127.0.0.1:%d" % cls.relay_port,
                         BYOK_PROVIDER_OPENAI_BASE_URL=provider_url)
        cls.processes.append(cls.start("byok-relayd", relay_env, cls.relay_port))
        cls.vault_channel = grpc.insecure_channel("127.0.0.1:%d" % cls.vault_port)
        cls.relay_channel = grpc.insecure_channel("127.0.0.1:%d" % cls.relay_port)
        cls.vault = vault_pb2_grpc.VaultStub(cls.vault_channel)
        cls.relay = relay_pb2_grpc.RelayStub(cls.relay_channel)

    @classmethod
    def start(cls, binary, env, port):
        process = subprocess.Popen([os.path.join(BIN, binary)], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        wait_for_port(port, process)
        return process

    @classmethod
    def tearDownClass(cls):
        cls.vault_channel.close()
        cls.relay_channel.close()
        for process in cls.processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
        cls.provider.shutdown()
        cls.provider.server_close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def register(self):
        created = self.vault.CreateUser(vault_pb2.CreateUserRequest(app_id="python"),
                                        metadata=[("byok-app-secret", APP_SECRET)], timeout=DEADLINE_S)
        self.assertEqual(len(created.token), 64)
        stored = self.vault.PutKey(vault_pb2.PutKeyRequest(token=created.token, provider="openai",
                                                           key="sk-python-client-0123"),
                                   timeout=DEADLINE_S)
        self.assertEqual(stored.provider, "openai")
        return created.token

    def relay_request(self, token, model):
        body = json.dumps({"model": model, "stream": True,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        return relay_pb2.RelayRequest(
            token=token, provider="openai", method="POST", path="v1/chat/completions", body=body,
            headers=[relay_pb2.Header(name="content-type", value="application/json")])

    def test_registers_stores_a_key_and_streams_a_completion(self):
        token = self.register()
        listed = self.vault.ListKeys(vault_pb2.ListKeysRequest(token=token), timeout=DEADLINE_S)
        self.assertEqual([k.provider for k in listed.keys], ["openai"])
        messages = list(self.relay.Relay(self.relay_request(token, "gpt-4o"), timeout=DEADLINE_S))
        self.assertTrue(messages[0].HasField("head"))
        self.assertEqual(messages[0].head.status, 200)
        body = b"".join(m.body for m in messages)
        self.assertIn(b"piece 2", body)
        self.assertIn(b"data: [DONE]", body)
        self.assertIn("Bearer sk-python-client-0123", self.provider.authorization)

    def test_cancelling_a_stream_closes_the_provider_connection(self):
        token = self.register()
        self.provider.closed.clear()
        call = self.relay.Relay(self.relay_request(token, "endless"), timeout=DEADLINE_S)
        first = next(call)
        self.assertEqual(first.head.status, 200)
        next(call)  # the stream is flowing
        cancelled_at = time.monotonic()
        call.cancel()
        self.assertTrue(self.provider.closed.wait(5), "the provider's connection stayed open")
        print("provider connection closed %.0f ms after cancel"
              % ((time.monotonic() - cancelled_at) * 1000))
        with self.assertRaises(grpc.RpcError) as ended:
            next(call)
        self.assertEqual(ended.exception.code(), grpc.StatusCode.CANCELLED)

    def test_errors_carry_structured_reasons(self):
        cases = [
            # (call, code, reason, domain)
            (lambda: self.vault.CreateUser(vault_pb2.CreateUserRequest(app_id="python"),
                                           timeout=DEADLINE_S),
             grpc.StatusCode.UNAUTHENTICATED, "CALLER_UNAUTHENTICATED", "vault.byok-relay"),
            (lambda: self.vault.CreateUser(vault_pb2.CreateUserRequest(app_id="python"),
                                           metadata=[("byok-app-secret", "wrong")],
                                           timeout=DEADLINE_S),
             grpc.StatusCode.UNAUTHENTICATED, "APP_CREDENTIAL_INVALID", "vault.byok-relay"),
            (lambda: self.vault.Authenticate(vault_pb2.AuthenticateRequest(token="f" * 64),
                                             timeout=DEADLINE_S),
             grpc.StatusCode.UNAUTHENTICATED, "TOKEN_UNKNOWN", "vault.byok-relay"),
            (lambda: self.vault.ResolveKey(vault_pb2.ResolveKeyRequest(token="f" * 64,
                                                                       provider="openai"),
                                           metadata=[("byok-app-secret", APP_SECRET)],
                                           timeout=DEADLINE_S),
             grpc.StatusCode.PERMISSION_DENIED, "CALLER_NOT_ALLOWED", "vault.byok-relay"),
            (lambda: self.relay.CheckKey(relay_pb2.CheckKeyRequest(provider="openai", key="sk-x" * 4),
                                         timeout=DEADLINE_S),
             grpc.StatusCode.UNAUTHENTICATED, "CALLER_UNAUTHENTICATED", "relay.byok-relay"),
            (lambda: list(self.relay.Relay(self.relay_request("", "gpt-4o"), timeout=DEADLINE_S)),
             grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING", "relay.byok-relay"),
        ]
        for call, code, reason, domain in cases:
            with self.subTest(reason=reason):
                with self.assertRaises(grpc.RpcError) as failed:
                    call()
                self.assertEqual(failed.exception.code(), code)
                info = error_info(failed.exception)
                self.assertIsNotNone(info)
                self.assertEqual(info.reason, reason)
                self.assertEqual(info.domain, domain)
        # A revoked token reads as expired, with the same message as an unknown one.
        token = self.register()
        self.vault.RevokeToken(vault_pb2.RevokeTokenRequest(token=token), timeout=DEADLINE_S)
        with self.assertRaises(grpc.RpcError) as revoked:
            list(self.relay.Relay(self.relay_request(token, "gpt-4o"), timeout=DEADLINE_S))
        self.assertEqual(error_info(revoked.exception).reason, "TOKEN_EXPIRED")
        # The service token makes a caller a service.
        resolved = self.vault.ResolveKey(vault_pb2.ResolveKeyRequest(token=self.register(),
                                                                     provider="openai"),
                                         metadata=[("byok-service-token", SERVICE_TOKEN)],
                                         timeout=DEADLINE_S)
        self.assertEqual(resolved.key, "sk-python-client-0123")

    def test_health_per_service_name_and_reflection(self):
        for channel, service in [(self.vault_channel, "byok.vault.v1.Vault"),
                                 (self.relay_channel, "byok.relay.v1.Relay")]:
            check = channel.unary_unary("/grpc.health.v1.Health/Check")
            name = service.encode()
            # HealthCheckRequest{service}; the answer is HealthCheckResponse{status: SERVING (1)}.
            self.assertEqual(check(b"\x0a" + bytes([len(name)]) + name, timeout=DEADLINE_S),
                             b"\x08\x01")
            reflect = channel.stream_stream(
                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
            # ServerReflectionRequest{list_services: ""}.
            answer = b"".join(reflect(iter([b"\x3a\x00"]), timeout=DEADLINE_S))
            self.assertIn(name, answer)
            self.assertIn(b"grpc.health.v1.Health", answer)


if __name__ == "__main__":
    unittest.main(verbosity=2)
