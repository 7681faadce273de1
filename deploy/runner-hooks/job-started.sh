#!/bin/sh
# ACTIONS_RUNNER_HOOK_JOB_STARTED: binds this job's GitHub OIDC identity to
# the local awf-broker, so every credential exchanged from now on comes from
# this job's own JWTs. Configured by the environment only:
#   AWF_BROKER_SOCKET        the broker's socket (default /run/awf-broker/broker.sock)
#   AWF_BROKER_IDENTITY      the github-actions identity to bind (default github)
#   AWF_BROKER_HOOK_TIMEOUT  the hook's time bound (default 10s)
#   AWF_BROKER_CLI           the CLI to run (default: awf-broker-cli on PATH)
# Fails the job, with one clear line, when the broker cannot be reached.
exec "${AWF_BROKER_CLI:-awf-broker-cli}" hook job-started
