# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""
Certificates as kubeadm makes them (RSA 2048, CA "kubernetes" for 10 years, leaves for 1 year), made
with the host's openssl; the CA public key pin (`sha256:` of the DER SubjectPublicKeyInfo), kubeconfig
files, bootstrap tokens and the detached JWS signatures of the cluster-info ConfigMap.
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile

from . import STANDIN
from .yamlish import dump, load

TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class PkiError(Exception):
    pass


def openssl(*args, input_text=None):
    if shutil.which("openssl") is None:
        raise PkiError(f"the {STANDIN} of kubeadm makes its certificates with openssl, which is not installed on this host (apt-get install openssl)")
    result = subprocess.run(["openssl", *args], input=input_text, capture_output=True, text=True)
    if result.returncode != 0:
        raise PkiError(f"openssl {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def write_private(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path + ".tmp", mode)
    os.replace(path + ".tmp", path)


def new_ca(directory, name, common_name, days=3650):
    key, crt = os.path.join(directory, f"{name}.key"), os.path.join(directory, f"{name}.crt")
    os.makedirs(os.path.dirname(key), exist_ok=True)
    openssl("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt, "-days", str(days),
            "-subj", f"/CN={common_name}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign")
    os.chmod(key, 0o600)
    return key, crt


def new_key_and_csr(key_path, subject):
    os.makedirs(os.path.dirname(key_path), exist_ok=True)
    csr = openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key_path, "-subj", subject)
    os.chmod(key_path, 0o600)
    return csr


def sign_csr(csr_pem, ca_crt, ca_key, usage, sans=(), days=365):
    """Signs a CSR with the CA; usage is "server", "client" or "both"; sans are "DNS:x"/"IP:y" entries."""
    eku = {"server": "serverAuth", "client": "clientAuth", "both": "serverAuth,clientAuth"}[usage]
    ext = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", f"extendedKeyUsage={eku}"]
    if sans:
        ext.append("subjectAltName=" + ",".join(sans))
    with tempfile.TemporaryDirectory() as scratch:
        csr_file, ext_file = os.path.join(scratch, "req.csr"), os.path.join(scratch, "ext.cnf")
        with open(csr_file, "w") as handle:
            handle.write(csr_pem)
        with open(ext_file, "w") as handle:
            handle.write("\n".join(ext) + "\n")
        return openssl("x509", "-req", "-in", csr_file, "-CA", ca_crt, "-CAkey", ca_key, "-set_serial", str(secrets.randbits(63)),
                       "-days", str(days), "-sha256", "-extfile", ext_file)


def new_leaf(directory, name, subject, ca_crt, ca_key, usage, sans=()):
    key = os.path.join(directory, f"{name}.key")
    crt = os.path.join(directory, f"{name}.crt")
    pem = sign_csr(new_key_and_csr(key, subject), ca_crt, ca_key, usage, sans)
    with open(crt, "w") as handle:
        handle.write(pem)
    return key, crt


def new_service_account_key(directory):
    key = os.path.join(directory, "sa.key")
    openssl("genrsa", "-out", key, "2048")
    os.chmod(key, 0o600)
    pub = openssl("rsa", "-in", key, "-pubout")
    with open(os.path.join(directory, "sa.pub"), "w") as handle:
        handle.write(pub)


# ---- the CA pin -------------------------------------------------------------------------------------

def _der_element(data, offset):
    """(tag, header length, content length) of the DER element at offset."""
    tag = data[offset]
    length = data[offset + 1]
    header = 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[offset + 2: offset + 2 + count], "big")
        header += count
    return tag, header, length


def spki_der(cert_pem):
    """The DER SubjectPublicKeyInfo of a PEM certificate (what kubeadm's CA hash pins)."""
    der = ssl.PEM_cert_to_DER_cert(cert_pem)
    _, header, _ = _der_element(der, 0)  # Certificate
    tbs = header
    _, header, _ = _der_element(der, tbs)  # TBSCertificate
    offset = tbs + header
    if der[offset] == 0xA0:  # [0] version
        _, h, length = _der_element(der, offset)
        offset += h + length
    for _ in range(5):  # serialNumber, signature, issuer, validity, subject
        _, h, length = _der_element(der, offset)
        offset += h + length
    _, h, length = _der_element(der, offset)
    return der[offset: offset + h + length]


def ca_cert_hash(cert_pem):
    return "sha256:" + hashlib.sha256(spki_der(cert_pem)).hexdigest()


# ---- tokens and JWS ---------------------------------------------------------------------------------

def generate_token():
    pick = lambda n: "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(n))
    return f"{pick(6)}.{pick(16)}"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jws_detached(content, token_id, token_secret):
    """The detached JWS (HS256, kid = token id) the bootstrap signer puts in cluster-info."""
    header = b64url(json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":")).encode())
    payload = b64url(content.encode())
    signature = hmac.new(token_secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}..{b64url(signature)}"


def jws_matches(detached, content, token_id, token_secret):
    return hmac.compare_digest(detached, jws_detached(content, token_id, token_secret))


# ---- kubeconfig -------------------------------------------------------------------------------------

def kubeconfig(server, ca_pem, user, cluster_name="kubernetes", cert_pem=None, key_pem=None, cert_file=None, key_file=None, token=None):
    auth = {}
    if cert_pem:
        auth["client-certificate-data"] = base64.b64encode(cert_pem.encode()).decode()
        auth["client-key-data"] = base64.b64encode(key_pem.encode()).decode()
    if cert_file:
        auth["client-certificate"] = cert_file
        auth["client-key"] = key_file
    if token:
        auth["token"] = token
    context = f"{user}@{cluster_name}"
    return {
        "apiVersion": "v1",
        "clusters": [{"cluster": {"certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(), "server": server}, "name": cluster_name}],
        "contexts": [{"context": {"cluster": cluster_name, "user": user}, "name": context}],
        "current-context": context,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user, "user": auth}],
    }


def write_kubeconfig(path, config):
    write_private(path, f"# Written by the {STANDIN} of kubeadm.\n" + dump(config))


def read_kubeconfig(path):
    with open(path) as handle:
        config = load(handle.read())
    if not isinstance(config, dict):
        raise PkiError(f"{path} is not a kubeconfig file")
    current = config.get("current-context")
    context = next((c["context"] for c in config.get("contexts") or [] if c.get("name") == current), None)
    if context is None:
        raise PkiError(f'invalid configuration: context "{current}" does not exist in {path}')
    cluster = next((c["cluster"] for c in config.get("clusters") or [] if c.get("name") == context.get("cluster")), {})
    user = next((u["user"] for u in config.get("users") or [] if u.get("name") == context.get("user")), {})
    ca = base64.b64decode(cluster["certificate-authority-data"]).decode() if cluster.get("certificate-authority-data") else _read(cluster.get("certificate-authority"))
    cert = base64.b64decode(user["client-certificate-data"]).decode() if user.get("client-certificate-data") else _read(user.get("client-certificate"))
    key = base64.b64decode(user["client-key-data"]).decode() if user.get("client-key-data") else _read(user.get("client-key"))
    return {"server": cluster.get("server"), "ca": ca, "cert": cert, "key": key, "token": user.get("token")}


def _read(path):
    if not path:
        return None
    with open(path) as handle:
        return handle.read()
