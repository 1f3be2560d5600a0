import { IsBoolean, IsInt, IsString, Max, Min } from 'class-validator';

/** Image intake limits and the URL fetch policy (API process). */
export class ImageSettings {
  /** Largest accepted image, whatever the transport (multipart file, decoded base64). */
  @IsInt()
  @Min(1024)
  @Max(1024 * 1024 * 1024)
  MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  MAX_IMAGE_PIXELS = 50_000_000;

  @IsInt()
  @Min(1)
  @Max(100_000)
  MAX_IMAGE_FRAMES = 64;

  @IsBoolean()
  URL_FETCH_ENABLED = true;

  @IsInt()
  @Min(100)
  @Max(120_000)
  URL_FETCH_TIMEOUT_MS = 5000;

  @IsInt()
  @Min(1024)
  @Max(1024 * 1024 * 1024)
  URL_FETCH_MAX_BYTES = 10 * 1024 * 1024;

  @IsInt()
  @Min(0)
  @Max(10)
  URL_FETCH_MAX_REDIRECTS = 3;

  /** Comma-separated hosts (exact, or `.example.com` for subdomains) or CIDRs. */
  @IsString()
  URL_FETCH_ALLOWLIST = '';

  @IsString()
  URL_FETCH_DENYLIST = '';

  /**
   * Body limit for JSON requests: `image_base64` inflates the image by 4/3, plus room for the other
   * fields. Fastify's bodyLimit should be this, not MAX_UPLOAD_BYTES, or a valid base64 image near the
   * limit would be refused by the transport with a less precise message.
   */
  get maxJsonBodyBytes(): number {
    return Math.ceil(this.MAX_UPLOAD_BYTES / 3) * 4 + 64 * 1024;
  }
}
