# The Sigil CLI image the GitLab component runs in: Node 24 and the bundled
# dist/ (no node_modules needed at run time). A plain CI job image: no
# ENTRYPOINT of ours (GitLab's Docker executor would hand it the job's shell,
# `sigil sh -c …`); the base image's docker-entrypoint.sh runs any command,
# so `docker run <image> sigil …` and `<image> sh -c 'sigil-gitlab sign'` work.
FROM node:24-bookworm-slim
LABEL org.opencontainers.image.source="https://github.com/sigil-sign/sigil" \
      org.opencontainers.image.description="Sigil: Sigstore signing and verification of container images"
COPY dist/ /opt/sigil/dist/
COPY package.json LICENSE /opt/sigil/
RUN printf '#!/bin/sh\nexec node /opt/sigil/dist/cli/index.js "$@"\n' > /usr/local/bin/sigil \
 && printf '#!/bin/sh\nexec node /opt/sigil/dist/gitlab/index.js "$@"\n' > /usr/local/bin/sigil-gitlab \
 && printf '#!/bin/sh\nexec node /opt/sigil/dist/conformance/index.js "$@"\n' > /usr/local/bin/sigil-conformance \
 && chmod 0755 /usr/local/bin/sigil /usr/local/bin/sigil-gitlab /usr/local/bin/sigil-conformance
USER node
CMD ["sigil", "--help"]
