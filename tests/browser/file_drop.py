"""Dropping files on a page the way a person drags them from the desktop."""

from __future__ import annotations

import base64


def drop_files(page, selector: str, files: list[tuple[str, bytes, str]]) -> None:
    """Drop files onto an element the way a person drags them from the desktop."""
    # The page's script binds the drop zone once the document has loaded.
    page.wait_for_function("document.readyState === 'complete'")
    payload = [{"name": name, "data": base64.b64encode(data).decode(), "type": kind} for name, data, kind in files]
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const file of files) {
                const bytes = Uint8Array.from(atob(file.data), (character) => character.charCodeAt(0));
                transfer.items.add(new File([bytes], file.name, { type: file.type }));
            }
            return transfer;
        }""",
        payload,
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})
