import { Body, Controller, Get, Header, Headers, HttpCode, Inject, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { IsDefined, IsString, Matches, MaxLength } from 'class-validator';
import { PACKAGE_NAME_PATTERN } from '../admin/dto/app.dto.js';
import { CoreTokenService } from '../auth/core-token.service.js';
import { CloudError } from '../common/cloud-error.js';
import { safeEqual, sha256Hex } from '../common/crypto.util.js';
import {
  APP_REPOSITORY,
  USER_REPOSITORY,
  type AppRepository,
  type UserRepository,
} from '../persistence/persistence.types.js';
import { WebviewAuthService } from './webview-auth.service.js';
import { WebviewKeys } from './webview-keys.js';

export class WebviewTokenRequestDto {
  @ApiProperty({ example: 'com.example.notes' }) @Matches(PACKAGE_NAME_PATTERN) packageName!: string;
}

export class PublicKeyQuery {
  @ApiProperty({ example: 'com.example.notes', description: 'The app whose key to serve (each app has its own)' })
  @IsDefined({ message: 'packageName is required: each app has its own key (?packageName=<your package>)' })
  @Matches(PACKAGE_NAME_PATTERN, { message: 'packageName is not a valid package name' })
  packageName!: string;
}

export class ExchangeTokenDto {
  @ApiProperty() @IsString() @MaxLength(200) aos_temp_token!: string;
  @ApiProperty() @Matches(PACKAGE_NAME_PATTERN) packageName!: string;
}

function bearer(header: string | undefined): string | null {
  return /^Bearer\s+(\S+)$/i.exec(header?.trim() ?? '')?.[1] ?? null;
}

@ApiTags('auth: webview login')
@Controller('api/auth')
export class WebviewAuthController {
  constructor(
    private readonly auth: WebviewAuthService,
    private readonly keys: WebviewKeys,
    private readonly tokens: CoreTokenService,
    @Inject(APP_REPOSITORY) private readonly apps: AppRepository,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
  ) {}

  private async userFromCoreToken(header: string | undefined): Promise<string> {
    const check = await this.tokens.check(bearer(header));
    if (!check.ok) throw new CloudError('INVALID_TOKEN', check.message);
    return check.userId;
  }

  private async installedApp(userId: string, packageName: string) {
    const app = await this.apps.findByPackageName(packageName);
    if (!app) throw new CloudError('APP_NOT_FOUND', `App ${packageName} does not exist`);
    const user = await this.users.findById(userId);
    if (!user?.installedApps.some((a) => a.packageName === packageName))
      throw new CloudError('PERMISSION_DENIED', `${packageName} is not installed for this user`);
    return app;
  }

  @Post('generate-webview-token')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      "Phone (core token): a single-use 60 s token to open an app's webview; `webviewUrl` has every query parameter the SDK needs",
  })
  async generate(
    @Headers('authorization') authorization: string | undefined,
    @Body() dto: WebviewTokenRequestDto,
  ): Promise<{ success: true; token: string; webviewUrl?: string }> {
    const userId = await this.userFromCoreToken(authorization);
    const app = await this.installedApp(userId, dto.packageName);
    const token = this.auth.issueTempToken(userId, dto.packageName);
    let webviewUrl: string | undefined;
    if (app.webviewURL) {
      const url = new URL(app.webviewURL);
      for (const [k, v] of Object.entries(this.auth.webviewQuery(token, app.hashedApiKey))) url.searchParams.set(k, v);
      webviewUrl = url.toString();
    }
    return { success: true, token, ...(webviewUrl ? { webviewUrl } : {}) };
  }

  @Post('generate-webview-signed-user-token')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      "Phone (core token): an RS256 `aos_signed_user_token` (10 min) for an app's webview, signed with that app's own key",
  })
  async signed(
    @Headers('authorization') authorization: string | undefined,
    @Body() dto: WebviewTokenRequestDto,
  ): Promise<{ success: true; token: string }> {
    const userId = await this.userFromCoreToken(authorization);
    await this.installedApp(userId, dto.packageName);
    return { success: true, token: await this.auth.signUserToken(userId, dto.packageName) };
  }

  /** What the SDK's webview middleware calls, with the app's raw API key. Answers `{success, userId}` or `{success:false, error}`. */
  @Post('exchange-user-token')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'App (raw API key): exchange a temporary webview token for the user id (single use)' })
  async exchange(
    @Headers('authorization') authorization: string | undefined,
    @Body() dto: ExchangeTokenDto,
  ): Promise<{ success: boolean; userId?: string; error?: string }> {
    const key = bearer(authorization);
    const app = await this.apps.findByPackageName(dto.packageName);
    if (!key || !app || !safeEqual(sha256Hex(key), app.hashedApiKey))
      throw new CloudError('INVALID_API_KEY', 'A valid API key of this package is required');
    const r = this.auth.exchange(dto.aos_temp_token, dto.packageName);
    if (!r.ok) throw new CloudError('INVALID_TOKEN', r.error);
    return { success: true, userId: r.userId };
  }

  @Get('webview-public-key')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({
    summary:
      "The PEM public key of one app's signed user tokens: what that app's operator sets as MENTRAOS_CLOUD_USER_TOKEN_PUBLIC_KEY",
  })
  @ApiOkResponse({ description: 'PEM' })
  @ApiBadRequestResponse({ description: 'packageName missing or invalid' })
  @ApiNotFoundResponse({ description: 'No such app' })
  async publicKey(@Query() query: PublicKeyQuery): Promise<string> {
    const pem = await this.keys.publicKeyPem(query.packageName);
    if (!pem) throw new CloudError('APP_NOT_FOUND', `App ${query.packageName} does not exist`);
    return pem;
  }
}
