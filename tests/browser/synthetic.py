"""Small synthetic data sets for the browser tests: the engine's zipper cursors at a tiny size."""

from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SyntheticSet:
    root: Path
    train_good: list[Path]
    test_zip: bytes  # test/good, test/<defect> and ground_truth/ in MVTec layout
    test_count: int


def cursor_set(folder: Path, *, train: int = 16, test_good: int = 6, test_defective: int = 6, size: int = 96) -> SyntheticSet:
    from inspection.engine.data.synth import render_set

    render_set(folder, set_id=1, seed=3, n_train=train, n_test_good=test_good, n_test_defective=test_defective, size=(size, size))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*.png")):
            relative = path.relative_to(folder)
            if relative.parts[0] in ("test", "ground_truth"):
                archive.write(path, f"cursors/{relative.as_posix()}")
    return SyntheticSet(
        root=folder,
        train_good=sorted((folder / "train" / "good").glob("*.png")),
        test_zip=buffer.getvalue(),
        test_count=test_good + test_defective,
    )


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
