import { Body, Controller, Get, Headers, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { PACKAGE_NAME_PATTERN } from '../admin/dto/app.dto.js';
import { CoreUser, CoreUserGuard } from '../auth/core-user.guard.js';
import { CloudError } from '../common/cloud-error.js';
import { parsePhoneSettingsBody, userIdFromSettingsBearer } from './app-settings.request.js';
import { AppSettingsService, type MergedSettings } from './app-settings.service.js';

function checkPackageName(packageName: string): void {
  if (!PACKAGE_NAME_PATTERN.test(packageName))
    throw new CloudError('APP_NOT_FOUND', `App ${packageName} does not exist`);
}

/** The settings routes apps (SDK) and phones call (apps.md §5.8, §6.2 row 7). */
@ApiTags('sdk: app settings')
@ApiBearerAuth()
@Controller('appsettings')
export class AppSettingsController {
  constructor(private readonly settings: AppSettingsService) {}

  @Get('user/:packageName')
  @ApiOperation({
    summary:
      "session.settings.fetch(): the user's values over the schema defaults (Authorization: Bearer <userId>-<packageName>)",
  })
  @ApiParam({ name: 'packageName' })
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
  ): Promise<{ success: true; packageName: string; settings: MergedSettings }> {
    const userId = userIdFromSettingsBearer(authorization, [
      packageName,
      this.settings.resolvePackageName(packageName),
    ]);
    checkPackageName(packageName);
    const result = await this.settings.read(userId, packageName);
    return { success: true, packageName: result.packageName, settings: result.settings };
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
