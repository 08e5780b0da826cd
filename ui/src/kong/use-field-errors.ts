/**
 * The DOM side of `field-errors.ts`: after one of Kong's forms fails to save, each of the Admin
 * API's field messages is put beside the control that sets the field (a `<p class="field-error">`
 * after the control's Kongponents box, the control marked `aria-invalid` and tied to it with
 * `aria-describedby`); a field with no control found goes into `summary` (one alert naming each
 * field). A message goes when the user edits its control; all go when the form is submitted again.
 * Hook the element around Kong's form to `show` (its `error` event), `edited` (`input`/`change`)
 * and `clear` (`submit`, captured).
 */
import { nextTick, ref, type Ref } from 'vue';
import {
  errorBody,
  fieldMessages,
  messageText,
  placeMessages,
  type FieldMessage,
  type FormControls,
} from './field-errors';

interface Shown {
  control: HTMLElement;
  note: HTMLElement;
  describedBy: string | null;
  invalid: string | null;
}

let counter = 0;

/** The element a selector finds in `root` when it is shown (a control behind a closed fold is not "beside" anything). */
function visibleMatch(root: HTMLElement, selector: string): HTMLElement | null {
  let el: HTMLElement | null;
  try {
    el = root.querySelector<HTMLElement>(selector);
  } catch {
    return null;
  }
  if (!el) return null;
  const control = el.matches('input, select, textarea')
    ? el
    : (el.querySelector<HTMLElement>('input:not([type=hidden]), select, textarea') ?? el);
  return control.getClientRects().length > 0 ? control : null;
}

/** Kongponents' box around a control (KInput, KSelect, KMultiselect, KCheckbox), else the control. */
const boxOf = (control: HTMLElement): HTMLElement =>
  control.closest<HTMLElement>('.k-input, .k-select, .k-multiselect, .k-checkbox, .k-radio, .k-textarea') ??
  control;

export function useFieldErrors(root: Ref<HTMLElement | null>, controls: FormControls = {}) {
  const summary = ref<FieldMessage[]>([]);
  let shown: Shown[] = [];

  function unshow(s: Shown): void {
    s.note.remove();
    if (s.invalid === null) s.control.removeAttribute('aria-invalid');
    else s.control.setAttribute('aria-invalid', s.invalid);
    if (s.describedBy === null) s.control.removeAttribute('aria-describedby');
    else s.control.setAttribute('aria-describedby', s.describedBy);
  }

  function clear(): void {
    shown.forEach(unshow);
    shown = [];
    summary.value = [];
  }

  /** Shows a failed save's field messages (once Kong's form has re-rendered). */
  async function show(error: unknown): Promise<void> {
    clear();
    const messages = fieldMessages(errorBody(error));
    if (messages.length === 0) return;
    await nextTick();
    const el = root.value;
    if (!el) return;
    const { placed, unplaced } = placeMessages(messages, (s) => visibleMatch(el, s), controls);
    for (const { control, messages: about } of placed) {
      const note = document.createElement('p');
      note.className = 'field-error';
      note.id = `kong-field-error-${++counter}`;
      note.dataset.errorFor = about.map((m) => m.path).join(' ');
      note.textContent = messageText(about);
      boxOf(control).after(note);
      const describedBy = control.getAttribute('aria-describedby');
      shown.push({ control, note, describedBy, invalid: control.getAttribute('aria-invalid') });
      control.setAttribute('aria-invalid', 'true');
      control.setAttribute('aria-describedby', describedBy ? `${describedBy} ${note.id}` : note.id);
    }
    summary.value = unplaced;
  }

  /** The user changed a control: its messages go. */
  function edited(event: Event): void {
    const target = event.target as Node | null;
    if (!target) return;
    shown = shown.filter((s) => {
      const hit = s.control === target || boxOf(s.control).contains(target);
      if (hit) unshow(s);
      return !hit;
    });
  }

  return { summary, show, clear, edited };
}
