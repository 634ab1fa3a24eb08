import { Body, Controller, Param, Put, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../admin/admin.guard.js';
import { UserAppParams } from '../admin/dto/user.dto.js';
import { UnsafeKeysInterceptor } from '../admin/unsafe-keys.interceptor.js';
import { normalizeUserId } from '../common/user-id.js';
import { UpdateUserAppSettingsDto, UserAppSettingsView } from './app-settings.dto.js';
import { AppSettingsService } from './app-settings.service.js';

@ApiTags('admin: users')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@UseInterceptors(UnsafeKeysInterceptor)
@Controller('api/admin/users')
export class AdminAppSettingsController {
  constructor(private readonly settings: AppSettingsService) {}

  @Put(':userId/apps/:packageName/settings')
  @ApiOperation({
    summary:
      "Replace a user's values for an app's settings (keys from the app's schema); a running app gets settings_update at once",
  })
  @ApiOkResponse({ type: UserAppSettingsView })
  async put(@Param() params: UserAppParams, @Body() dto: UpdateUserAppSettingsDto): Promise<UserAppSettingsView> {
    const userId = normalizeUserId(params.userId);
    const result = await this.settings.update(
      userId,
      params.packageName,
      dto.settings.map((s) => ({ key: s.key, value: s.value })),
      { mode: 'replace', notifyAppServer: false },
    );
    return { userId, packageName: result.packageName, settings: result.settings, delivered: result.delivered };
  }
}
