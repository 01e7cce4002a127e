"""The Kubernetes controller: RouterConfig custom resources → gateway ConfigMap, Deployment, Service.

Pure rendering (`render`, `status`, `akash`, `helm_values`) is kept apart from the thin API client
(`kube`) and the loop (`runner`). Never imports the gateway package: it needs only `dsl`.
"""
