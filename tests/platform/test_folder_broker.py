"""The embedded folder broker never hands a consumer a half-written message."""

from kombu import Connection

from config import broker


def folder_connection(folder):
    broker.register()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(folder)}
    return Connection("fsatomic://localhost/", transport_options=options)


def test_a_message_is_delivered_whole_and_leaves_no_draft(tmp_path):
    with folder_connection(tmp_path) as connection:
        queue = connection.SimpleQueue("jobs")
        queue.put({"job": 7, "payload": "x" * 100_000})
        assert not list(tmp_path.glob("*.part"))
        message = queue.get(timeout=2)
        assert message.payload == {"job": 7, "payload": "x" * 100_000}
        message.ack()
        queue.close()


def test_a_message_still_being_written_is_not_taken(tmp_path):
    with folder_connection(tmp_path) as connection:
        queue = connection.SimpleQueue("jobs")
        (tmp_path / "1_draft.jobs.msg.part").write_bytes(b"")
        try:
            queue.get(timeout=0.5)
        except queue.Empty:
            taken = False
        else:
            taken = True
        assert not taken
        assert (tmp_path / "1_draft.jobs.msg.part").exists()
        queue.close()
