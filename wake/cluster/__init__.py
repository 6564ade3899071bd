"""Clusters: the clusters and hosts files, host drivers, create/destroy, join/leave, status."""
