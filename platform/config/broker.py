"""A folder-based message broker whose messages appear atomically.

kombu's filesystem transport writes a message file in place while consumers
move files away without locking, so a worker can take a file that is still
empty and die on a JSON decode error (celery/kombu#1551). Here each message is
written under a temporary name the consumers ignore and renamed into place:
a rename within a folder is atomic, so a consumer sees all of it or nothing.
"""

import os
import uuid

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

TRANSPORT_ALIAS = "fsatomic"


class AtomicFilesystemChannel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(filesystem.monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final_path = os.path.join(self.data_folder_out, name)
        # Consumers only pick files whose name ends in "<queue>.msg".
        draft_path = final_path + ".part"
        try:
            with open(draft_path, "wb") as draft:
                draft.write(str_to_bytes(dumps(payload)))
                draft.flush()
                os.fsync(draft.fileno())
            os.replace(draft_path, final_path)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final_path!r} to directory") from error


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = AtomicFilesystemChannel


def register() -> None:
    """Make ``fsatomic://`` a broker URL kombu understands (idempotent)."""
    from kombu.transport import TRANSPORT_ALIASES

    TRANSPORT_ALIASES.setdefault(TRANSPORT_ALIAS, "config.broker:AtomicFilesystemTransport")
