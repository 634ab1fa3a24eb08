import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Query,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import { PACKAGE_NAME_PATTERN } from '../admin/dto/app.dto.js';
import { USER_ID_PATTERN } from '../admin/dto/user.dto.js';
import { normalizeUserId } from '../common/user-id.js';
import { CoreUser, CoreUserGuard } from '../auth/core-user.guard.js';
import { CloudError } from '../common/cloud-error.js';
import { parseAppCredential } from '../simple-storage/app-credential.guard.js';
import { parsePhoneSettingsBody, userIdFromSettingsBearer } from './app-settings.request.js';
import { AppSettingsService, type MergedSettings } from './app-settings.service.js';

function checkPackageName(packageName: string): void {
  if (!PACKAGE_NAME_PATTERN.test(packageName))
    throw new CloudError('APP_NOT_FOUND', `App ${packageName} does not exist`);
}

/** The settings routes apps (SDK) and phones call. */
@ApiTags('sdk: app settings')
@ApiBearerAuth()
@Controller('appsettings')
export class AppSettingsController {
  constructor(private readonly settings: AppSettingsService) {}

  @Get('user/:packageName')
  @ApiOperation({
    summary:
      "session.settings.fetch(): the user's values over the schema defaults. `Bearer <userId>-<packageName>` (what the SDK sends) only while the app is starting or running for that user; an app server may use `Bearer <packageName>:<apiKey>` with `?userId=`",
  })
  @ApiParam({ name: 'packageName' })
  @ApiQuery({ name: 'userId', required: false, description: 'The user, with an app credential only' })
  @ApiOkResponse({
    schema: {
      example: {
        success: true,
        packageName: 'com.example.notes',
        settings: [{ key: 'enabled', type: 'toggle', value: true }],
      },
    },
  })
  async fetch(
    @Param('packageName') packageName: string,
    @Headers('authorization') authorization: string | undefined,
    @Query('userId') userIdQuery: unknown,
  ): Promise<{ success: true; packageName: string; settings: MergedSettings }> {
    checkPackageName(packageName);
    const userId = await this.reader(authorization, packageName, userIdQuery);
    const result = await this.settings.read(userId, packageName);
    return { success: true, packageName: result.packageName, settings: result.settings };
  }

  /**
   * Whose settings a fetch may read. Either credential is scoped to the package in the path (the session id's
   * suffix, the credential's package), so no request reads another package's settings.
   */
  private async reader(authorization: string | undefined, packageName: string, userIdQuery: unknown): Promise<string> {
    const names = [packageName, this.settings.resolvePackageName(packageName)];
    const credential = parseAppCredential(authorization);
    if (credential && names.includes(credential.packageName)) {
      if (!(await this.settings.apiKeyMatches(credential.packageName, credential.apiKey)))
        throw new CloudError('INVALID_API_KEY', 'The API key is not valid for this package');
      if (typeof userIdQuery !== 'string' || userIdQuery.length > 320 || !USER_ID_PATTERN.test(userIdQuery))
        throw new BadRequestException({
          statusCode: 400,
          code: 'BAD_REQUEST',
          message: 'With Bearer <packageName>:<apiKey>, ?userId=<userId> names the user',
        });
      return normalizeUserId(userIdQuery);
    }
    const userId = userIdFromSettingsBearer(authorization, names);
    if (!this.settings.isStartingOrRunning(userId, packageName))
      throw new UnauthorizedException({
        statusCode: 401,
        code: 'UNAUTHORIZED',
        message: `Bearer <userId>-<packageName> is accepted only while ${packageName} is starting or running for that user; an app server may use Bearer <packageName>:<apiKey> with ?userId=<userId>`,
      });
    return userId;
  }

  @Post(':packageName')
  @HttpCode(200)
  @UseGuards(CoreUserGuard)
  @ApiOperation({
    summary:
      "The phone changes a user's settings of an app (Authorization: Bearer <coreToken>): stored, sent to the running app as settings_update, and POSTed to the app server's /settings",
  })
  @ApiOkResponse({
    schema: {
      example: {
        success: true,
        packageName: 'com.example.notes',
        settings: [{ key: 'enabled', type: 'toggle', value: false }],
      },
    },
  })
  async change(
    @Param('packageName') packageName: string,
    @CoreUser() userId: string,
    @Body() body: unknown,
  ): Promise<{ success: true; packageName: string; settings: MergedSettings }> {
    checkPackageName(packageName);
    const values = parsePhoneSettingsBody(body);
    const result = await this.settings.update(userId, packageName, values, {
      mode: 'merge',
      notifyAppServer: true,
    });
    return { success: true, packageName: result.packageName, settings: result.settings };
  }
}
