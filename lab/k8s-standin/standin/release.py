# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""The release this copy of the stand-in plays: lab/k8s-packages.ts rewrites it in each package."""
VERSION = "1.30.14"
