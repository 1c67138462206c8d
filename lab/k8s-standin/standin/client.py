# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""An HTTPS client for the stand-in API server: the CA from the kubeconfig, a client certificate or a bearer token."""
import http.client
import json
import os
import ssl
import tempfile
from urllib.parse import urlparse


class ApiError(Exception):
    def __init__(self, status, body, message):
        super().__init__(message)
        self.status = status
        self.body = body


class Unreachable(Exception):
    pass


class Client:
    def __init__(self, server, ca=None, cert=None, key=None, token=None, insecure=False, timeout=10):
        url = urlparse(server)
        self.host, self.port = url.hostname, url.port or 443
        self.token = token
        self.timeout = timeout
        self.context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if insecure:
            self.context.check_hostname = False
            self.context.verify_mode = ssl.CERT_NONE
        elif ca:
            self.context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca)
        if cert and key:
            # ssl loads client credentials from files only: a private directory, removed at once.
            with tempfile.TemporaryDirectory() as scratch:
                path = os.path.join(scratch, "client.pem")
                fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(cert if cert.strip().endswith(key.strip()) else cert.rstrip("\n") + "\n" + key)
                self.context.load_cert_chain(path)

    @classmethod
    def from_kubeconfig(cls, config, timeout=10):
        return cls(config["server"], ca=config["ca"], cert=config["cert"], key=config["key"], token=config["token"], timeout=timeout)

    def request(self, method, path, body=None):
        connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=self.timeout)
        headers = {"Accept": "application/json", "User-Agent": "drover-lab-standin"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except ssl.SSLCertVerificationError as error:
            raise Unreachable(f'Get "https://{self.host}:{self.port}{path}": tls: failed to verify certificate: {error.verify_message}')
        except (OSError, http.client.HTTPException) as error:
            reason = "connect: connection refused" if isinstance(error, ConnectionRefusedError) else str(error) or type(error).__name__
            raise Unreachable(f'Get "https://{self.host}:{self.port}{path}": dial tcp {self.host}:{self.port}: {reason}')
        finally:
            connection.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode(errors="replace")
        if response.status >= 400:
            message = data.get("message") if isinstance(data, dict) else str(data)
            raise ApiError(response.status, data, message)
        return data

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body):
        return self.request("POST", path, body)

    def put(self, path, body):
        return self.request("PUT", path, body)

    def delete(self, path):
        return self.request("DELETE", path)
