/**
 * A form's state around the generated fields: values, the server's field messages (by path), the
 * overall message, and a submit that sends the body and catches the Admin API's errors.
 */
import { reactive } from 'vue';
import { ApiError, errorText } from '../api/errors';
import { notifySaved } from '../propagation';
import { initialValues, toPayload, type FieldSpec, type FormValues } from './schema-form';

export interface FormState {
  values: FormValues;
  errors: Record<string, string>;
  message: string;
  busy: boolean;
}

export function useForm(fields: () => FieldSpec[]) {
  const state = reactive<FormState>({ values: {}, errors: {}, message: '', busy: false });

  /** The values an edit started from: a save then sends only what changed. */
  let initial: FormValues | undefined;

  function reset(entity?: unknown): void {
    state.values = initialValues(fields(), entity);
    initial = entity === undefined ? undefined : (JSON.parse(JSON.stringify(state.values)) as FormValues);
    state.errors = {};
    state.message = '';
  }

  /** Sends the form's body; true when the Admin API took it. */
  async function submit(send: (body: Record<string, unknown>) => Promise<unknown>): Promise<boolean> {
    const { body, errors } = toPayload(fields(), state.values, initial);
    if (Object.keys(errors).length > 0) {
      state.errors = errors;
      state.message = 'Some fields need fixing.';
      return false;
    }
    state.busy = true;
    try {
      await send(body);
      notifySaved();
      state.errors = {};
      state.message = '';
      return true;
    } catch (e) {
      state.errors = e instanceof ApiError ? e.fields : {};
      state.message = errorText(e);
      return false;
    } finally {
      state.busy = false;
    }
  }

  return { state, reset, submit };
}
