# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""The drover lab stand-in for kubeadm, the kubelet and kubectl (Python 3, standard library only)."""
from .release import VERSION

STANDIN = "drover lab stand-in"
MINOR = int(VERSION.split(".")[1])
GIT_VERSION = "v" + VERSION


def stand_in_note(tool):
    return f"this is the {STANDIN} of {tool} {GIT_VERSION}, not Kubernetes: it keeps the real tool's contract but runs no containers"
