import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { Secret } from '../config/secret.decorator';

/** Signed webhook deliveries (Standard Webhooks): the API checks URLs, the sender signs and posts. */
export class WebhookSettings {
  /**
   * The signing secret, `whsec_` + base64 of at least 24 random bytes (`whsec_$(openssl rand -base64 32)`).
   * Unset: webhooks are off and a request with `webhook_url` is refused (400).
   */
  @Secret()
  @IsOptional()
  @IsString()
  @Matches(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, {
    message: 'must be whsec_ followed by the base64 of at least 24 random bytes',
  })
  WEBHOOK_SECRET?: string = undefined;

  /** Deadline of one delivery attempt (connect, send, answer). */
  @IsInt()
  @Min(100)
  @Max(120_000)
  WEBHOOK_TIMEOUT_MS = 10_000;

  /** Hosts (exact, or `.example.com`) or CIDRs a webhook may reach although private (image_url's policy). */
  @IsString()
  WEBHOOK_ALLOWLIST = '';
}
