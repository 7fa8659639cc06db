"""One CSV row per layer (or folded block), exact numbers."""

from __future__ import annotations

import csv
import io

from ..report import Report, json_value
from .rows import field_text, rows, shape_text

HEADER = ["name", "type", "output_shape", "params", "trainable_params", "macs", "flops", "activation_bytes",
          "receptive_field"]


def render_csv(report: Report, depth: int | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows(report, depth):
        writer.writerow([row.name, row.type, shape_text(row.output_shape)] + [
            json_value(v) for v in (row.params, row.trainable_params, row.macs, row.flops, row.activation_bytes)
        ] + [field_text(row.receptive_field)])
    totals = report.totals
    writer.writerow(["total", "", shape_text(report.output_shape)] + [
        json_value(v) for v in (totals.params, totals.trainable_params, totals.macs, totals.flops,
                                totals.activation_bytes)] + [field_text(report.receptive_field)])
    return buffer.getvalue()
