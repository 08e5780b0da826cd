import type { RequestHandler } from 'express';
import { withAuthor } from '../store/author.js';
import { actorOf } from './actor.js';

/**
 * Binds the request's actor (`actorOf(req)`, read when a write happens, so whatever the access
 * layer set before it counts) as the author of the config writes the rest of the request makes.
 * Mounted again after each body parser: a body's stream events do not carry the binding.
 */
export const bindRequestAuthor: RequestHandler = (req, _res, next) => {
  withAuthor(() => actorOf(req).name, next);
};
