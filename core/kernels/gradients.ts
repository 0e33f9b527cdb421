/**
 * Registers TensorFlow.js' gradient functions. tfjs-core's Node entry (tf-core.node.js) ships without them
 * and its ESM `dist/register_all_gradients.js` uses extension-less imports that Node's ESM resolver rejects;
 * loading it through `require` (tsx transpiles it to CommonJS on the fly) works. The gradient and kernel
 * registries live on a global shared by every copy of tfjs-core, so the registration reaches our engine.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';

export function registerGradients(): void {
  if (tf.getGradient('Reshape')) return; // already there (e.g. @tensorflow/tfjs-node registered them)
  createRequire(import.meta.url)('@tensorflow/tfjs-core/dist/register_all_gradients.js');
}
