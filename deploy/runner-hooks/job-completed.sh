#!/bin/sh
# ACTIONS_RUNNER_HOOK_JOB_COMPLETED: clears this job's identity from the
# local awf-broker: the job's leases are revoked and its tokens purged, so
# nothing of this job serves the next one. Same environment as
# job-started.sh.
exec "${AWF_BROKER_CLI:-awf-broker-cli}" hook job-completed
