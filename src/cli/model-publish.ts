/**
 * `npm run model:publish -- --bundle DIR --to s3://bucket/prefix/`
 * Verifies a bundle against its manifest and uploads it to `<prefix><version>/`, manifest last; prints the
 * MODEL_URI of the published version on stdout (progress on stderr). Credentials: the AWS SDK's default
 * chain (environment, profile, IRSA, Pod Identity, instance role); AWS_ENDPOINT_URL for S3-compatible
 * servers (with MODEL_S3_FORCE_PATH_STYLE=true).
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadSettings } from '../config/load-settings';
import { S3BundlePublisher } from '../model/bundle/s3-bundle-publisher';
import { createS3Client, parseS3Uri } from '../model/bundle/s3-location';
import { ModelSettings } from '../model/model.settings';

const usage = 'usage: npm run model:publish -- --bundle DIR --to s3://bucket/prefix/';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      bundle: { type: 'string' },
      to: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stderr.write(`${usage}\n`);
    return 0;
  }
  const to = values.to === undefined ? undefined : parseS3Uri(values.to);
  if (values.bundle === undefined || to === undefined) {
    process.stderr.write(`${usage}\n(--bundle is a bundle directory; --to an s3:// URI)\n`);
    return 2;
  }
  const settings = loadSettings(ModelSettings);
  const client = createS3Client({
    region: settings.AWS_REGION,
    forcePathStyle: settings.MODEL_S3_FORCE_PATH_STYLE,
  });
  try {
    const publisher = new S3BundlePublisher(client, (m) => process.stderr.write(`model:publish: ${m}\n`));
    const result = await publisher.publish(values.bundle, to);
    process.stdout.write(`${result.uri}\n`);
    return 0;
  } finally {
    client.destroy();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `model:publish: ${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
