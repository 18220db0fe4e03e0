"""Processing a lot (drying, fermentation, hulling, sorting, roasting) and the yields
that are plausible for each change of form."""

from __future__ import annotations

import uuid
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from ...models import Cooperative, Lot
from ...models.enums import FORMS_BY_CROP, Crop, Form, OperationKind, Process
from ..errors import ValidationFailed
from ..vocabulary import FORM_LABELS, PROCESS_LABELS, Number, kg
from .books import spend_lot
from .codes import product_gtin
from .records import Step, edges, operation_date, record_step
from .rules import check_lot_open, clean_note, occurred, site

# Which form a process turns which form into, per crop.
TRANSITIONS: dict[str, dict[tuple[str, str], frozenset[str]]] = {
    Crop.COFFEE: {
        (Process.FERMENTATION, Form.CHERRY): frozenset({Form.WET_PARCHMENT}),
        (Process.DRYING, Form.CHERRY): frozenset({Form.DRY_PARCHMENT}),
        (Process.DRYING, Form.WET_PARCHMENT): frozenset({Form.DRY_PARCHMENT}),
        (Process.HULLING, Form.DRY_PARCHMENT): frozenset({Form.GREEN}),
        (Process.ROASTING, Form.GREEN): frozenset({Form.ROASTED}),
    },
    Crop.CACAO: {
        (Process.FERMENTATION, Form.WET_BEANS): frozenset({Form.DRY_BEANS}),
        (Process.DRYING, Form.WET_BEANS): frozenset({Form.DRY_BEANS}),
    },
}

# Plausible yields (output per input, per mille) from SPEC.md: outside them, the manager
# must confirm the weights. Sorting keeps the form and removes at most 15 %.
YIELD_BANDS: dict[tuple[str, str, str], tuple[int, int]] = {
    (Crop.COFFEE, Form.CHERRY, Form.WET_PARCHMENT): (330, 450),
    (Crop.COFFEE, Form.CHERRY, Form.DRY_PARCHMENT): (170, 230),  # about 1/5
    (Crop.COFFEE, Form.WET_PARCHMENT, Form.DRY_PARCHMENT): (500, 620),
    (Crop.COFFEE, Form.DRY_PARCHMENT, Form.GREEN): (760, 840),  # about 0.8
    (Crop.COFFEE, Form.GREEN, Form.ROASTED): (800, 880),  # about 0.84
    (Crop.CACAO, Form.WET_BEANS, Form.DRY_BEANS): (350, 400),  # 0.35 to 0.40
}
SORTING_BAND = (850, 1000)


def yield_band(crop: str, from_form: str, to_form: str) -> tuple[int, int] | None:
    """The plausible output per input (per mille) of a change of form, if one is known."""
    if from_form == to_form:
        return SORTING_BAND
    return YIELD_BANDS.get((crop, from_form, to_form))


def check_process(crop: str, from_form: str, process: str, output_form: str) -> str | None:
    """Why this process cannot turn this form into that one (None when it can)."""
    if process not in set(Process):
        return str(_l("Choose drying, fermentation, hulling, sorting or roasting."))
    if output_form not in FORMS_BY_CROP[Crop(crop)]:
        return str(_l("This product form does not exist for this crop."))
    if process == Process.SORTING:
        if output_form != from_form:
            return str(_l("Sorting keeps the product form."))
        return None
    allowed = TRANSITIONS[crop].get((process, from_form), frozenset())
    if output_form not in allowed:
        return str(
            _l(
                "%(process)s does not turn %(from)s into %(to)s.",
                process=str(PROCESS_LABELS[Process(process)]).capitalize(),
                **{"from": FORM_LABELS[Form(from_form)], "to": FORM_LABELS[Form(output_form)]},
            )
        )
    return None


def _check_output(
    lot: Lot, output_form: str, input_g: int, output_g: int, confirm_yield: bool
) -> bool:
    """The measured output of a processing: more than nothing, at most the input, and a
    plausible yield unless confirmed. True when the yield is outside the usual band."""
    if output_g <= 0:
        raise ValidationFailed({"output_kg": [str(_l("The output must weigh more than 0 kg."))]})
    if output_g > input_g:
        raise ValidationFailed(
            {
                "output_kg": [
                    str(
                        _l(
                            "The output cannot weigh more than the input (%(kg)s kg).",
                            kg=kg(input_g),
                        )
                    )
                ]
            }
        )
    band = yield_band(lot.crop, lot.form, output_form)
    outside = band is not None and not band[0] * input_g <= output_g * 1000 <= band[1] * input_g
    if outside and not confirm_yield:
        assert band is not None
        raise ValidationFailed(
            {
                "confirm_yield": [
                    str(
                        _l(
                            "A yield of %(pct)s %% is outside the usual %(lo)s–%(hi)s %% for "
                            "%(from)s to %(to)s. Check the output weight, or confirm the yield.",
                            pct=Number(output_g * 100 / input_g, "#,##0.0"),
                            lo=Number(band[0] / 10, "#,##0.#"),
                            hi=Number(band[1] / 10, "#,##0.#"),
                            **{
                                "from": FORM_LABELS[Form(lot.form)],
                                "to": FORM_LABELS[Form(output_form)],
                            },
                        )
                    )
                ]
            }
        )
    return outside


def process_lot(
    session: Session,
    *,
    lot: Lot,
    process: str,
    output_form: str,
    output_g: int,
    confirm_yield: bool = False,
    site_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    occurred_on: date | None = None,
    note: str | None = None,
) -> Lot:
    """Dry, ferment, hull, sort or roast a whole lot; the output weight is measured.

    A yield outside the plausible band is refused unless the manager confirms it.
    """
    coop = session.get(Cooperative, lot.cooperative_id)
    assert coop is not None
    check_lot_open(lot, "process")
    problem = check_process(lot.crop, lot.form, process, output_form)
    if problem:
        field = "process" if process not in set(Process) else "output_form"
        raise ValidationFailed({field: [problem]})
    input_g = lot.available_g
    outside = _check_output(lot, output_form, input_g, output_g, confirm_yield)
    note = clean_note(note)
    site_ = site(session, coop, site_id)
    day = occurred(occurred_on, operation_date(session, lot.operation_id))
    spend_lot(session, lot, input_g)
    gtin = product_gtin(session, coop.id, lot.crop, output_form)
    if gtin is None and output_form == lot.form:
        gtin = lot.gtin
    step = Step.on_lot(OperationKind.PROCESS, lot, input_g, day, user_id, note)._replace(
        form=output_form, gtin=gtin, site_id=site_, process=process, yield_confirmed=outside
    )
    operation, [made] = record_step(session, coop, step, [output_g])
    edges(session, coop, operation, [(made.id, lot.id, None, input_g)])
    return made
