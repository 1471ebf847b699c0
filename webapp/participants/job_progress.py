"""Following a core Job from a management command (a tqdm bar fed by the job's progress)."""
import time

from tqdm import tqdm

from webapp.core.models import Job


def follow_job(job: Job, stdout, poll_seconds: float = 0.5) -> Job:
    with tqdm(total=100, desc=f"job {str(job.pk)[:8]}", unit="%", disable=None) as bar:
        while job.status not in (Job.Status.SUCCEEDED, Job.Status.FAILED):
            time.sleep(poll_seconds)
            job.refresh_from_db()
            bar.update(job.progress - bar.n)
    stdout.write(f"Job {job.pk} {job.status}: {job.error or job.result}")
    return job
