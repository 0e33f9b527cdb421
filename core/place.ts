/** Where a command runs: a class is one (platform, team, channel) triple. The project's one declaration of it. */
export type Platform = 'discord' | 'slack';

export interface Place {
  platform: Platform;
  /** Discord guild id or Slack team id */
  teamId: string;
  channelId: string;
}
