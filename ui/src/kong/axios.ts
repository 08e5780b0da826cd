/**
 * The axios instance Kong's entity packages use (entities-shared's `useAxios` injects a
 * `get-axios-instance` factory from the app, else creates its own with the same defaults): ours
 * marks a 403's message as a refusal, so Kong's alert reads like our forms ("Not allowed (403):
 * alice, you do not have permissions to create this resource").
 */
import axios, { type AxiosInstance, type CreateAxiosDefaults } from 'axios';
import { refusalText } from '../api/errors';

/** The key entities-shared injects the factory under. */
export const GET_AXIOS_INSTANCE = 'get-axios-instance';

/** A refused request (403 with the Admin API's `{message}`): its message marked, in place. */
export function markRefusal(error: unknown): void {
  if (!axios.isAxiosError(error) || error.response?.status !== 403) return;
  const data: unknown = error.response.data;
  if (data && typeof data === 'object' && typeof (data as { message?: unknown }).message === 'string') {
    const body = data as { message: string };
    if (!body.message.startsWith(refusalText(''))) body.message = refusalText(body.message);
  }
}

/** Kong's defaults (`withCredentials`, 30 s), the caller's options, and the refusal mark. */
export function kongAxios(options: CreateAxiosDefaults = {}): AxiosInstance {
  const instance = axios.create({ withCredentials: true, timeout: 30_000, ...options });
  instance.interceptors.response.use(undefined, (error: unknown) => {
    markRefusal(error);
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  });
  return instance;
}

/** The reads (GETs) an axios instance has sent, and how many are still unanswered. */
export interface ReadCount {
  pending: number;
  sent: number;
}

/** `kongAxios`, counting its reads in `reads` (a Kong form's opening requests: KongEntityForm.vue). */
export function countingKongAxios(reads: ReadCount, options: CreateAxiosDefaults = {}): AxiosInstance {
  const instance = kongAxios(options);
  const counted = new WeakSet<object>();
  const answered = (config: object | undefined): void => {
    if (config && counted.delete(config)) reads.pending--;
  };
  instance.interceptors.request.use((config) => {
    if ((config.method ?? 'get').toLowerCase() === 'get') {
      counted.add(config);
      reads.pending++;
      reads.sent++;
    }
    return config;
  });
  instance.interceptors.response.use(
    (response) => {
      answered(response.config);
      return response;
    },
    (error: Error) => {
      // kongAxios's own interceptor ran first: `error` is an Error already.
      answered((error as { config?: object }).config);
      return Promise.reject(error);
    },
  );
  return instance;
}
