"""The Helm chart and the container image, checked with a real helm binary."""
