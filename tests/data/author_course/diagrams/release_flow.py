"""The release flow from bottom to top: a commit is built and tested in CI, the image is pushed
to the registry, and Argo rolls it out to staging, then to production after approval."""

from diagrams import Diagram, Edge
from diagrams.onprem.ci import GithubActions
from diagrams.onprem.gitops import Argocd
from diagrams.onprem.vcs import Github
from diagrams.onprem.container import Docker
from diagrams.k8s.compute import Deploy

with Diagram("Release flow", show=False, direction="BT"):
    commit = Github("Commit")
    ci = GithubActions("CI")
    image = Docker("Image")
    argo = Argocd("Argo CD")
    staging = Deploy("Staging")
    production = Deploy("Production")
    commit >> ci >> Edge(label="push", color="#8E44AD", style="dashed") >> image
    image >> Edge(color="#8E44AD", style="dashed") >> argo
    argo >> staging
    argo >> Edge(label="after approval", color="#D35400", style="dashed") >> production
