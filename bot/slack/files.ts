/**
 * A file shared in a Slack channel, as /train's text. Slack slash commands carry no files, so the teacher shares
 * the .txt in the channel first and passes its link (the permalink from "Copy link", or its url_private) as
 * `texto:<link>`. We read the file's id from the link, ask files.info (scope files:read) for its name, size and
 * download URL, check that it is shared in this very channel, and download it with the bot token — sent only to
 * the download URL that Slack itself returned, never to a host the teacher typed.
 */
import type { webApi } from '@slack/bolt';
import { QuijoteError } from '../../core/errors.ts';
import type { IncomingFile, OptionSpec } from '../../commands/types.ts';
import type { Texts } from './texts.ts';

/** The Slack file id in a permalink (…/files/U…/F…/name), a url_private (…/files-pri/T…-F…/name) or alone. */
export function slackFileId(raw: string): string | undefined {
  const text = raw.trim().replace(/^<(.*?)(\|.*)?>$/, '$1'); // Slack sends links as <url> or <url|label>
  if (/^F[A-Z0-9]{6,}$/.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (!/(^|\.)slack\.com$/.test(url.hostname) && !/(^|\.)slack-files\.com$/.test(url.hostname)) return undefined;
  return /\/files(?:-pri|-tmb)?\/(?:[UW][A-Z0-9]+\/|T[A-Z0-9]+-)(F[A-Z0-9]{6,})(?:[/?#]|$)/.exec(url.pathname)?.[1];
}

interface FileInfo {
  id?: string;
  name?: string;
  size?: number;
  mimetype?: string;
  url_private?: string;
  url_private_download?: string;
  channels?: string[];
  groups?: string[];
  ims?: string[];
  shares?: { public?: Record<string, unknown>; private?: Record<string, unknown> };
}

export class SlackFiles {
  constructor(
    private readonly client: webApi.WebClient,
    private readonly botToken: string,
    private readonly texts: Texts,
    private readonly fetchFn: typeof fetch = (input, init) => globalThis.fetch(input, init),
  ) {}

  /**
   * For each string option that may hold a file link (OptionSpec.acceptsFileLink) and holds a Slack one: the
   * file it names, moved from `options` into `files`, and a fetch that authenticates only its download URL.
   * Links to other hosts stay in `options` (the command fetches them without credentials).
   */
  async resolve(specs: OptionSpec[], options: Record<string, string | number | undefined>, channelId: string): Promise<{ files: Record<string, IncomingFile>; fetchFile: typeof fetch } | undefined> {
    const files: Record<string, IncomingFile> = {};
    const allowed = new Set<string>();
    for (const spec of specs) {
      const raw = options[spec.name];
      if (!spec.acceptsFileLink || typeof raw !== 'string') continue;
      const id = slackFileId(raw);
      if (!id) continue;
      const info = await this.client.files.info({ file: id }).catch((e: unknown) => {
        const code = (e as { data?: { error?: string } }).data?.error ?? String(e);
        throw new QuijoteError('NOT_FOUND', this.texts.fileNotFound(id, code), { cause: e });
      });
      const f = (info as { file?: FileInfo }).file ?? {};
      const url = f.url_private_download ?? f.url_private;
      if (!url) throw new QuijoteError('NOT_FOUND', this.texts.fileNotFound(id, 'no url_private'));
      const where = [...(f.channels ?? []), ...(f.groups ?? []), ...(f.ims ?? []), ...Object.keys(f.shares?.public ?? {}), ...Object.keys(f.shares?.private ?? {})];
      if (!where.includes(channelId)) throw new QuijoteError('FORBIDDEN', this.texts.fileNotInChannel(f.name ?? id));
      files[spec.name] = { name: f.name ?? id, size: typeof f.size === 'number' ? f.size : null, url, contentType: f.mimetype ?? null };
      allowed.add(url);
      delete options[spec.name];
    }
    if (allowed.size === 0) return undefined;
    const fetchFile: typeof fetch = (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (!allowed.has(url)) return this.fetchFn(input, init);
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${this.botToken}`);
      return this.fetchFn(url, { ...init, headers });
    };
    return { files, fetchFile };
  }
}
