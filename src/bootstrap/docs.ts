/**
 * OpenAPI at /docs-json and Swagger UI at /docs. The UI's assets come from swagger-ui-dist and are served
 * here rather than by SwaggerModule's UI, which needs @fastify/static (not a dependency). No inline
 * script, so the docs CSP can stay `script-src 'self'`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { BEARER_SCHEME } from '../auth/auth.decorators';
import { applyRequestContent } from './request-content';
import { DOCS_ROUTE_CONFIG } from './security-headers';

const DESCRIPTION = [
  'Captions images with BLIP. Every /api route needs `Authorization: Bearer <JWT>` with the scope it names',
  '(`caption:write`, `caption:read`); errors are RFC 9457 `application/problem+json`.',
  'Development tokens: `npm run token -- --sub alice --scope "caption:write caption:read"`.',
].join(' ');

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Captioner API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="stylesheet" href="/docs/index.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/docs-json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
});
`;

function swaggerUiDir(): string | undefined {
  try {
    // Resolved from @nestjs/swagger, whose dependency it is.
    const fromSwagger = createRequire(require.resolve('@nestjs/swagger'));
    return join(fromSwagger.resolve('swagger-ui-dist/package.json'), '..');
  } catch {
    return undefined;
  }
}

export function setupDocs(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Captioner API')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER_SCHEME)
    .build();
  SwaggerModule.setup('docs', app, () => applyRequestContent(SwaggerModule.createDocument(app, config)), {
    ui: false,
    raw: ['json'],
  });

  const fastify = app.getHttpAdapter().getInstance();
  fastify.get('/docs', { config: DOCS_ROUTE_CONFIG }, (_request, reply) => {
    void reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(HTML);
  });
  fastify.get('/docs/init.js', { config: DOCS_ROUTE_CONFIG }, (_request, reply) => {
    void reply.type('application/javascript; charset=utf-8').send(INIT_JS);
  });
  const dir = swaggerUiDir();
  if (!dir) return;
  const cache = new Map<string, Buffer>();
  for (const [name, type] of Object.entries(ASSETS)) {
    fastify.get(`/docs/${name}`, { config: DOCS_ROUTE_CONFIG }, (_request, reply) => {
      let body = cache.get(name);
      if (!body) {
        body = readFileSync(join(dir, name));
        cache.set(name, body);
      }
      void reply.type(type).header('cache-control', 'public, max-age=3600').send(body);
    });
  }
}
