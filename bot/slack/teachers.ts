/**
 * Who counts as a teacher on Slack: a user id listed in config.teachers, or a member of config.teacherGroup
 * (a user group id "S0123…" or its handle "profes"/"@profes"). Group members are cached for a minute.
 */
import type { webApi } from '@slack/bolt';

const CACHE_MS = 60_000;

export class TeacherCheck {
  private cached?: { at: number; users: Promise<Set<string>> };
  private groupId?: string;

  constructor(
    private readonly client: webApi.WebClient,
    private readonly teachers: readonly string[],
    private readonly group: string | undefined,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  async isTeacher(userId: string): Promise<boolean> {
    if (this.teachers.includes(userId)) return true;
    if (!this.group) return false;
    if (!this.cached || this.now() - this.cached.at >= CACHE_MS) {
      this.cached = { at: this.now(), users: this.fetchMembers() };
    }
    return (await this.cached.users).has(userId);
  }

  private async fetchMembers(): Promise<Set<string>> {
    try {
      const usergroup = await this.resolveGroupId();
      const res = await this.client.usergroups.users.list({ usergroup });
      return new Set(res.users ?? []);
    } catch (e) {
      this.cached = undefined; // retry on the next check instead of caching a failure for a minute
      this.log(`[slack] no pude leer el grupo de profesorado «${this.group}»: ${(e as Error).message}. ` +
        'Comprueba el scope usergroups:read y SLACK_TEACHER_GROUP.');
      return new Set();
    }
  }

  private async resolveGroupId(): Promise<string> {
    const group = this.group!.replace(/^@/, '');
    if (/^S[A-Z0-9]{2,}$/.test(group)) return group;
    if (this.groupId) return this.groupId;
    const res = await this.client.usergroups.list({});
    const found = (res.usergroups ?? []).find((g) => g.handle === group || g.name === group);
    if (!found?.id) throw new Error(`no existe un grupo con el identificador o alias «${group}»`);
    return (this.groupId = found.id);
  }
}
