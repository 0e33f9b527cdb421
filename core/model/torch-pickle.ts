/**
 * Reads PyTorch's zip checkpoints (`torch.save` since 1.6) without executing anything: a tiny
 * pickle VM that understands only the opcodes and globals a state dict needs. Any other global
 * or opcode is refused with CHECKPOINT_UNSAFE.
 */
import { QuijoteError } from '../errors.ts';
import type { TensorData } from './checkpoint.ts';
import { decodeToFloat32, elementCount } from './safetensors.ts';
import { looksLikeZip, readZipEntries, readZipEntry } from './zip.ts';

/** Storage classes are plain dtype tags: mapping them to a safetensors dtype name is all we do. */
const STORAGE_DTYPES: Record<string, [dtype: string, bytes: number]> = {
  FloatStorage: ['F32', 4], HalfStorage: ['F16', 2], BFloat16Storage: ['BF16', 2], DoubleStorage: ['F64', 8],
  LongStorage: ['I64', 8], IntStorage: ['I32', 4], ShortStorage: ['I16', 2], CharStorage: ['I8', 1],
  ByteStorage: ['U8', 1], BoolStorage: ['BOOL', 1],
};

const CALLABLES = new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter']);

class Global { constructor(readonly path: string) {} }
class StorageRef { constructor(readonly key: string, readonly dtype: string, readonly itemBytes: number, readonly numel: number) {} }
class TensorRef { constructor(readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly stride: number[]) {} }
const MARK = Symbol('mark');

type Value = unknown;

function unsafe(label: string, what: string): QuijoteError {
  return new QuijoteError('CHECKPOINT_UNSAFE', `${label}: el checkpoint contiene ${what}, que no está permitido; no se ejecuta código de un pickle.`, {
    hint: 'Usa un modelo en formato model.safetensors o un pytorch_model.bin de confianza con solo tensores.',
  });
}

function corrupt(label: string, what: string): QuijoteError {
  return new QuijoteError('MODEL_CORRUPT', `${label}: el checkpoint de PyTorch está dañado (${what}).`, {
    hint: 'Vuelve a descargarlo o borra la carpeta del modelo para que se descargue de nuevo.',
  });
}

function asIntArray(v: Value, label: string, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) throw corrupt(label, `${what} inválido`);
  return v as number[];
}

/** Applies an allowlisted callable. Everything else has been rejected earlier, at GLOBAL time. */
function call(fn: Global, args: Value, label: string): Value {
  if (!Array.isArray(args)) throw corrupt(label, 'argumentos de REDUCE no son una tupla');
  switch (fn.path) {
    case 'collections.OrderedDict':
      if (args.length !== 0) throw unsafe(label, 'OrderedDict con argumentos');
      return new Map<Value, Value>();
    case 'torch._utils._rebuild_tensor_v2': {
      const [storage, offset, size, stride] = args;
      if (!(storage instanceof StorageRef) || typeof offset !== 'number') throw corrupt(label, '_rebuild_tensor_v2 con argumentos inesperados');
      return new TensorRef(storage, offset, asIntArray(size, label, 'tamaño'), asIntArray(stride, label, 'stride'));
    }
    case 'torch._utils._rebuild_parameter':
      if (!(args[0] instanceof TensorRef)) throw corrupt(label, '_rebuild_parameter sin tensor');
      return args[0];
    default:
      throw unsafe(label, `una llamada a ${fn.path}`);
  }
}

function resolveGlobal(module: string, name: string, label: string): Global {
  const path = `${module}.${name}`;
  if (CALLABLES.has(path)) return new Global(path);
  if (module === 'torch' && name in STORAGE_DTYPES) return new Global(path);
  throw unsafe(label, `la referencia global ${path}`);
}

function persistentLoad(pid: Value, label: string): StorageRef {
  // ('storage', torch.FloatStorage, '<key>', 'cpu', numel)
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw unsafe(label, 'un identificador persistente desconocido');
  const [, type, key, , numel] = pid;
  if (!(type instanceof Global) || !type.path.startsWith('torch.')) throw unsafe(label, 'un tipo de almacenamiento desconocido');
  const spec = STORAGE_DTYPES[type.path.slice('torch.'.length)];
  if (!spec || typeof key !== 'string' || !/^[\w.-]+$/.test(key) || typeof numel !== 'number') throw corrupt(label, 'referencia de almacenamiento inválida');
  return new StorageRef(key, spec[0], spec[1], numel);
}

/** Runs the restricted pickle VM and returns the unpickled root object. */
export function unpickle(data: Uint8Array, label: string): Value {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const text = new TextDecoder('utf-8', { fatal: false });
  const stack: Value[] = [];
  const memo = new Map<number, Value>();
  let p = 0;
  const need = (n: number): number => {
    if (p + n > data.length) throw corrupt(label, 'data.pkl termina antes de tiempo');
    const at = p;
    p += n;
    return at;
  };
  const pop = (): Value => {
    if (stack.length === 0) throw corrupt(label, 'pila vacía');
    return stack.pop();
  };
  const popMark = (): Value[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw corrupt(label, 'falta MARK');
    const items = stack.splice(i);
    items.shift();
    return items;
  };
  const top = (): Value => {
    if (stack.length === 0) throw corrupt(label, 'pila vacía');
    return stack[stack.length - 1];
  };
  const str = (n: number): string => text.decode(data.subarray(need(n), p));
  const setItems = (target: Value, kv: Value[]): void => {
    if (!(target instanceof Map) || kv.length % 2) throw corrupt(label, 'SETITEM sobre algo que no es un diccionario');
    for (let i = 0; i < kv.length; i += 2) target.set(kv[i], kv[i + 1]);
  };
  const append = (target: Value, items: Value[]): void => {
    if (!Array.isArray(target)) throw corrupt(label, 'APPEND sobre algo que no es una lista');
    target.push(...items);
  };
  for (;;) {
    const op = data[need(1)];
    switch (op) {
      case 0x80: need(1); break; // PROTO
      case 0x95: need(8); break; // FRAME
      case 0x2e: return pop(); // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x58: { const n = view.getUint32(need(4), true); stack.push(str(n)); break; } // BINUNICODE
      case 0x8c: { const n = data[need(1)]; stack.push(str(n)); break; } // SHORT_BINUNICODE
      case 0x8d: { const n = Number(view.getBigUint64(need(8), true)); if (n > data.length) throw corrupt(label, 'cadena demasiado larga'); stack.push(str(n)); break; } // BINUNICODE8
      case 0x55: { const n = data[need(1)]; stack.push(str(n)); break; } // SHORT_BINSTRING
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(data[need(1)]); break; // BININT1
      case 0x4d: stack.push(view.getUint16(need(2), true)); break; // BININT2
      case 0x8a: { // LONG1
        const n = data[need(1)];
        if (n > 8) throw corrupt(label, 'entero demasiado grande');
        const at = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[at + i]);
        if (n > 0 && data[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(Number(v));
        break;
      }
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x4e: stack.push(null); break; // NONE
      case 0x71: memo.set(data[need(1)], top()); break; // BINPUT
      case 0x72: memo.set(view.getUint32(need(4), true), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const idx = op === 0x68 ? data[need(1)] : view.getUint32(need(4), true);
        if (!memo.has(idx)) throw corrupt(label, `memo ${idx} inexistente`);
        stack.push(memo.get(idx));
        break;
      }
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x51: stack.push(persistentLoad(pop(), label)); break; // BINPERSID
      case 0x63: { // GLOBAL: "module\nname\n"
        const readLine = (): string => {
          const end = data.indexOf(0x0a, p);
          if (end < 0 || end - p > 256) throw corrupt(label, 'GLOBAL mal formado');
          const s = text.decode(data.subarray(p, end));
          p = end + 1;
          return s;
        };
        const module = readLine();
        stack.push(resolveGlobal(module, readLine(), label));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw corrupt(label, 'STACK_GLOBAL mal formado');
        stack.push(resolveGlobal(module, name, label));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof Global) || !CALLABLES.has(fn.path)) throw unsafe(label, 'una llamada a un objeto no permitido');
        stack.push(call(fn, args, label));
        break;
      }
      case 0x62: { // BUILD: only attribute state on an OrderedDict (e.g. `_metadata`), which we ignore.
        pop();
        const target = top();
        if (!(target instanceof Map) && !(target instanceof TensorRef)) throw unsafe(label, 'BUILD sobre un objeto no permitido');
        break;
      }
      default:
        throw unsafe(label, `la instrucción de pickle 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/**
 * Reads a `torch.save` zip archive holding a (possibly nested under "state_dict"/"model") state dict.
 * Tensors that share a storage with the same offset and shape come back as the same TensorData object.
 */
export function readTorchZip(buf: Uint8Array, fileLabel: string): Map<string, TensorData> {
  if (!looksLikeZip(buf)) {
    if (buf[0] === 0x80) { // a bare pickle stream: torch.save before PyTorch 1.6
      throw new QuijoteError('MODEL_UNSUPPORTED', `${fileLabel}: usa el formato antiguo de PyTorch (anterior a 1.6), no soportado.`, {
        hint: 'Convierte el modelo a model.safetensors con transformers (save_pretrained).',
      });
    }
    throw corrupt(fileLabel, 'no es un archivo zip');
  }
  const entries = readZipEntries(buf, fileLabel);
  const pklName = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pklName) throw corrupt(fileLabel, 'falta data.pkl');
  const prefix = pklName.slice(0, -'data.pkl'.length);
  let root = unpickle(readZipEntry(buf, entries.get(pklName)!, fileLabel), fileLabel);
  for (const key of ['state_dict', 'model']) {
    if (root instanceof Map && !([...root.values()].some((v) => v instanceof TensorRef)) && root.get(key) instanceof Map) root = root.get(key);
  }
  if (!(root instanceof Map)) throw corrupt(fileLabel, 'el objeto guardado no es un diccionario de tensores');

  const storages = new Map<string, Float32Array>();
  const tensors = new Map<TensorRef | string, TensorData>();
  const out = new Map<string, TensorData>();
  for (const [name, value] of root) {
    if (typeof name !== 'string' || !(value instanceof TensorRef)) continue;
    const { storage, offset, shape, stride } = value;
    if (shape.length !== stride.length) throw corrupt(fileLabel, `«${name}»: forma y stride de distinta longitud`);
    if (!isContiguous(shape, stride)) {
      throw new QuijoteError('MODEL_UNSUPPORTED', `${fileLabel}: el tensor «${name}» no es contiguo (stride [${stride.join(', ')}]).`, {
        hint: 'Guárdalo con .contiguous() o, mejor, como model.safetensors.',
      });
    }
    const shareKey = `${storage.key}|${offset}|${shape.join(',')}`;
    const shared = tensors.get(value) ?? tensors.get(shareKey);
    if (shared) { out.set(name, shared); continue; }
    let all = storages.get(storage.key);
    if (!all) {
      const entry = entries.get(`${prefix}data/${storage.key}`);
      if (!entry) throw corrupt(fileLabel, `falta el almacenamiento data/${storage.key}`);
      const bytes = readZipEntry(buf, entry, fileLabel);
      if (bytes.length < storage.numel * storage.itemBytes) throw corrupt(fileLabel, `data/${storage.key} es más corto de lo declarado`);
      all = decodeToFloat32(storage.dtype, bytes, storage.numel);
      storages.set(storage.key, all);
    }
    const n = elementCount(shape);
    if (offset + n > all.length) throw corrupt(fileLabel, `«${name}» se sale de su almacenamiento`);
    const t: TensorData = { shape: [...shape], data: all.slice(offset, offset + n) };
    tensors.set(value, t);
    tensors.set(shareKey, t);
    out.set(name, t);
  }
  return out;
}
